using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class ListCommand
{
    public static Command Create()
    {
        var server = Common.Server();
        var ns = Common.Namespace();
        var all = Common.AllNamespaces();
        var selector = Common.Selector();
        var output = Common.Output();
        var cmd = new Command("list", "list workflows") { server, ns, all, selector, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var wfs = await api.ListAsync(r.GetValue(all) ? "-" : r.GetValue(ns)!, ct, r.GetValue(selector));
            Console.Write(machine is not null ? machine.Text(WorkflowPrinter.ToJson(wfs) + "\n") : WorkflowPrinter.Table(wfs, TimeProvider.System.GetUtcNow(), withNamespace: r.GetValue(all)));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
