using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class ListCommand
{
    public static Command Create()
    {
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("list", "list workflows") { server, ns, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = server.Client(r);
            var wfs = await api.ListAsync(r.GetValue(ns)!, ct);
            Console.Write(json ? WorkflowPrinter.ToJson(wfs) + "\n" : WorkflowPrinter.Table(wfs, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
