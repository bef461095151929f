using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class EventSourceCommand
{
    public static Command Create()
    {
        var cmd = new Command("eventsource", "event sources and what their listeners are doing");
        cmd.Aliases.Add("es");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Get());
        return cmd;
    }

    private static Command List()
    {
        var server = Common.Server();
        var ns = Common.Namespace();
        var all = new Option<bool>("--all-namespaces", "-A") { Description = "every namespace" };
        var output = Common.Output();
        var cmd = new Command("list", "list event sources with their state") { server, ns, all, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = new ApiClient(r.GetValue(server)!);
            var list = await api.GetJsonAsync($"api/v1/event-sources/{(r.GetValue(all) ? "-" : r.GetValue(ns))}", ct);
            Console.Write(json ? EventPrinter.Pretty(list["items"]) : EventPrinter.SourceTable(list, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Get()
    {
        var name = new Argument<string>("name") { Description = "event source name" };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("get", "show an event source, its listeners and their counts") { name, server, ns, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = new ApiClient(r.GetValue(server)!);
            var es = await api.GetJsonAsync($"api/v1/event-sources/{r.GetValue(ns)}/{Uri.EscapeDataString(r.GetValue(name)!)}", ct);
            Console.Write(json ? EventPrinter.Pretty(es) : EventPrinter.SourceDetail(es, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
