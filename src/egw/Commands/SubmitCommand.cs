using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Cli.Output;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Submission;

namespace EventGateway.Cli.Commands;

internal static class SubmitCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "a Workflow manifest (YAML or JSON)", Arity = ArgumentArity.ZeroOrOne };
        var from = new Option<string?>("--from") { Description = "submit a workflow made from a stored cronwf/NAME, workflowtemplate/NAME or clusterworkflowtemplate/NAME instead of a file" };
        var parameters = Common.Parameters();
        var wait = new Option<bool>("--wait", "-w") { Description = "wait for the workflow to complete" };
        var watch = new Option<bool>("--watch") { Description = "show the workflow's progress until it completes" };
        var output = Common.Output();
        var server = Common.Server();
        var ns = Common.Namespace();
        var cmd = new Command("submit", "submit a workflow to `egw serve`") { file, from, parameters, wait, watch, output, server, ns };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var submitted = (r.GetValue(file), r.GetValue(from)) switch
            {
                ({ } path, null) => await SubmitFileAsync(api, path, r.GetValue(ns), r.GetValue(parameters) ?? [], ct),
                (null, { } reference) => [await SubmitFromAsync(api, reference, r.GetValue(ns)!, r.GetValue(parameters) ?? [], ct)],
                (null, null) => throw new CliException("give a Workflow file, or --from cronwf/NAME or --from workflowtemplate/NAME", ExitCodes.Invalid),
                _ => throw new CliException("give either a file or --from, not both", ExitCodes.Invalid),
            };
            var results = new List<Workflow>();
            foreach (var created in submitted)
            {
                if (machine is null) Console.Error.WriteLine($"submitted {created.NamespaceOrDefault}/{created.Name}");
                results.Add(r.GetValue(wait) || r.GetValue(watch)
                    ? await Watcher.UntilDoneAsync(api, created, show: r.GetValue(watch) && machine is null, ct)
                    : created);
            }
            if (machine is not null) Console.WriteLine(machine.Text(WorkflowPrinter.ResultsToJson(results)));
            else foreach (var wf in results) Console.WriteLine(WorkflowPrinter.Summary(wf, TimeProvider.System.GetUtcNow()));
            var waited = r.GetValue(wait) || r.GetValue(watch);
            return !waited || results.All(w => w.Status?.Phase == WorkflowPhase.Succeeded) ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }

    private static async Task<List<Workflow>> SubmitFileAsync(ApiClient api, string path, string? ns, string[] parameters, CancellationToken ct)
    {
        var workflows = RunCommand.ReadAll([path]).OfType<Workflow>().ToList();
        if (workflows.Count == 0) throw new CliException("no Workflow in the file (to submit from a CronWorkflow or WorkflowTemplate, use --from)", ExitCodes.Invalid);
        var created = new List<Workflow>();
        foreach (var wf in workflows)
        {
            if (wf.Metadata.Namespace is null && ns is not null) wf.Metadata.Namespace = ns;
            created.Add(await api.SubmitAsync(wf, parameters, ct));
        }
        return created;
    }

    /// <summary>Argo's POST /api/v1/workflows/{ns}/submit: the server builds the workflow from the stored object.</summary>
    private static async Task<Workflow> SubmitFromAsync(ApiClient api, string reference, string ns, string[] parameters, CancellationToken ct)
    {
        (string Kind, string Name) source;
        try { source = WorkflowSources.ParseReference(reference); }
        catch (ArgumentException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
        var body = new JsonObject
        {
            ["resourceKind"] = source.Kind,
            ["resourceName"] = source.Name,
            ["submitOptions"] = new JsonObject { ["parameters"] = new JsonArray([.. parameters.Select(p => (JsonNode)JsonValue.Create(p))]) },
        };
        return (await api.PostJsonAsync($"api/v1/workflows/{Uri.EscapeDataString(ns)}/submit", body, ct)).Deserialize<Workflow>(Json.Lenient)!;
    }
}
