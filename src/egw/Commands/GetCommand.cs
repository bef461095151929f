using System.CommandLine;
using EventGateway.Cli.Output;
using EventGateway.Model;

namespace EventGateway.Cli.Commands;

internal static class GetCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "workflow name, or @latest" };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("get", "show a workflow and its node tree") { name, server, ns, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var wf = await Resolve(api, r.GetValue(ns)!, r.GetValue(name)!, ct);
            Console.Write(machine is not null ? machine.Text(WorkflowPrinter.ToJson(wf) + "\n") : WorkflowPrinter.Summary(wf, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static async Task<Workflow> Resolve(ApiClient api, string ns, string name, CancellationToken ct)
    {
        if (name == "@latest")
            return (await api.ListAsync(ns, ct)).MaxBy(w => w.Metadata.CreationTimestamp)
                ?? throw new CliException($"no workflows in namespace '{ns}'");
        return await api.GetAsync(ns, name, ct) ?? throw new CliException($"workflow '{name}' not found in namespace '{ns}'");
    }
}
