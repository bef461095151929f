using System.CommandLine;
using EventGateway.Cli.Output;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Schedules;
using EventGateway.Workflows.Submission;

namespace EventGateway.Cli.Commands;

/// <summary>
/// `egw run`: no server. Apply the files' templates and ConfigMaps, run each Workflow to completion,
/// stream step logs to stderr, print the result. Exit 0 Succeeded, 1 Failed/Error, 2 invalid input.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "YAML or JSON manifests", Arity = ArgumentArity.OneOrMore };
        var parameters = Common.Parameters();
        var dataDir = new Option<string?>("--data-dir") { Description = "keep the store here (default: a temporary directory, removed afterwards)" };
        var output = Common.Output();
        var maxProcesses = new Option<int?>("--max-processes") { Description = "cap on concurrently running step processes" };
        var noSandbox = new Option<bool>("--no-sandbox") { Description = "run steps as plain host processes, without bubblewrap isolation" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "do not stream step logs" };
        var from = new Option<string?>("--from") { Description = "run a workflow made from a document in the files: cronwf/NAME or workflowtemplate/NAME" };
        var artifactRepository = new Option<string?>("--artifact-repository") { Description = "YAML file of the default artifact repository (Argo's artifactRepository value, e.g. s3: {...}, or a workflow-controller-configmap ConfigMap), as egw serve takes it; default: the data directory" };
        var cmd = new Command("run", "run workflows in this process, without a server") { files, parameters, dataDir, output, maxProcesses, noSandbox, quiet, from, artifactRepository };
        var limits = new WorkflowLimitOptions();
        limits.AddTo(cmd);
        var executor = new ExecutorOptions();
        executor.AddTo(cmd);
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            var manifests = ReadAll(r.GetValue(files)!);
            List<Workflow> workflows;
            try
            {
                workflows = r.GetValue(from) is { } reference ? [WorkflowSources.From(reference, manifests)] : manifests.OfType<Workflow>().ToList();
            }
            catch (ArgumentException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
            if (workflows.Count == 0) throw new CliException("no Workflow in the given files (to run a CronWorkflow or WorkflowTemplate, use --from cronwf/NAME or --from workflowtemplate/NAME)", ExitCodes.Invalid);
            var ps = SubmitParameters.Parse(r.GetValue(parameters) ?? []);

            ArtifactRepository? repository = null;
            if (r.GetValue(artifactRepository) is { } repo)
            {
                try { repository = EventGateway.Workflows.Artifacts.ArtifactRepositories.ReadFile(repo); }
                catch (EventGateway.Workflows.Artifacts.ArtifactException e) { throw new CliException($"--artifact-repository: {e.Message}", ExitCodes.Invalid); }
            }
            var temp = r.GetValue(dataDir) is null ? Directory.CreateTempSubdirectory("egw-run-").FullName : null;
            var options = new EventGatewayOptions { DataDir = Path.GetFullPath(r.GetValue(dataDir) ?? temp!) };
            if (r.GetValue(maxProcesses) is { } mp) options.MaxProcesses = mp;
            options.Sandbox = !r.GetValue(noSandbox);
            options.ArtifactRepository = repository;
            limits.Apply(r, options);
            await executor.ApplyAsync(r, options, ct);
            if (options.Pods is not null) throw new CliException("--executor kubernetes is for egw serve, with --kubernetes or --kubeconfig and an S3 --artifact-repository", ExitCodes.Invalid);
            try { options.Limits.Validate(); }
            catch (ArgumentException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
            using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning));
            try
            {
                await using var engine = new EmbeddedEngine(options, logging);
                await using var logs = new StepLogs(engine.Executor, multi: workflows.Count > 1);
                using var streaming = r.GetValue(quiet) ? null : engine.Controller.Observe(logs);
                await engine.StartAsync();
                await engine.ApplyAsync(manifests, ct);

                // Validate every workflow before running any: invalid input runs nothing.
                var prepared = new List<Workflow>();
                var errors = new List<ManifestError>();
                foreach (var wf in workflows)
                {
                    try { prepared.Add(await engine.Submitter.PrepareAsync(wf, ps, SourceOf(wf), ct)); }
                    catch (ManifestException e) { errors.AddRange(e.Errors); }
                }
                if (errors.Count > 0) throw new ManifestException(errors);

                var submitted = new List<Workflow>();
                foreach (var wf in prepared) submitted.Add(await engine.SubmitPreparedAsync(wf, ct));
                var finished = new List<Workflow>();
                foreach (var wf in submitted) finished.Add(await engine.WaitAsync(wf, ct));

                if (machine is not null) Console.WriteLine(machine.Text(WorkflowPrinter.ResultsToJson(finished)));
                else foreach (var wf in finished) Console.WriteLine(WorkflowPrinter.Summary(wf, TimeProvider.System.GetUtcNow()));
                return finished.All(w => w.Status?.Phase == WorkflowPhase.Succeeded) ? ExitCodes.Ok : ExitCodes.Failed;
            }
            finally
            {
                if (temp is not null) TryDelete(temp);
            }
        }));
        return cmd;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Workflow, string> Sources = new();

    private static string SourceOf(Workflow wf) => Sources.TryGetValue(wf, out var s) ? s : "<input>";

    internal static List<Resource> ReadAll(IEnumerable<string> files)
    {
        var all = new List<Resource>();
        var errors = new List<ManifestError>();
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new CliException($"{f}: no such file", ExitCodes.Invalid);
            try
            {
                var docs = ManifestReader.ReadFile(f);
                foreach (var wf in docs.OfType<Workflow>()) Sources.AddOrUpdate(wf, f);
                foreach (var warning in CronWorkflowConversion.ConvertAll(docs)) Console.Error.WriteLine($"warning: {f}: {warning}");
                all.AddRange(docs);
            }
            catch (ManifestException e) { errors.AddRange(e.Errors); }
        }
        if (errors.Count > 0) throw new ManifestException(errors);
        return all;
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
