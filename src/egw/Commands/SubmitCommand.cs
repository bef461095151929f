using System.CommandLine;
using EventGateway.Cli.Output;
using EventGateway.Model;

namespace EventGateway.Cli.Commands;

internal static class SubmitCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a Workflow manifest (YAML or JSON)" };
        var parameters = Common.Parameters();
        var wait = new Option<bool>("--wait", "-w") { Description = "wait for the workflow to complete" };
        var watch = new Option<bool>("--watch") { Description = "show the workflow's progress until it completes" };
        var output = Common.Output();
        var server = Common.Server();
        var ns = Common.Namespace();
        var cmd = new Command("submit", "submit a workflow to `egw serve`") { file, parameters, wait, watch, output, server, ns };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            var docs = RunCommand.ReadAll([r.GetValue(file)!]);
            var workflows = docs.OfType<Workflow>().ToList();
            if (workflows.Count == 0) throw new CliException("no Workflow in the file", ExitCodes.Invalid);
            using var api = new ApiClient(r.GetValue(server)!);
            var results = new List<Workflow>();
            foreach (var wf in workflows)
            {
                if (wf.Metadata.Namespace is null && r.GetValue(ns) is { } n) wf.Metadata.Namespace = n;
                var created = await api.SubmitAsync(wf, r.GetValue(parameters) ?? [], ct);
                if (!json) Console.Error.WriteLine($"submitted {created.NamespaceOrDefault}/{created.Name}");
                results.Add(r.GetValue(wait) || r.GetValue(watch)
                    ? await Watcher.UntilDoneAsync(api, created, show: r.GetValue(watch) && !json, ct)
                    : created);
            }
            if (json) Console.WriteLine(WorkflowPrinter.ToJson(results));
            else foreach (var wf in results) Console.WriteLine(WorkflowPrinter.Summary(wf, TimeProvider.System.GetUtcNow()));
            var waited = r.GetValue(wait) || r.GetValue(watch);
            return !waited || results.All(w => w.Status?.Phase == WorkflowPhase.Succeeded) ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }
}
