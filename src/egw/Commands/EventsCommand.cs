using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class EventsCommand
{
    public static Command Create()
    {
        var cmd = new Command("events", "the durable event log: what arrived and what happened to it");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Get());
        return cmd;
    }

    private static Command List()
    {
        var server = Common.Server();
        var source = new Option<string?>("--source") { Description = "only events of this EventSource" };
        var ns = new Option<string?>("--namespace", "-n") { Description = "only events of this namespace" };
        var limit = new Option<int>("--limit") { Description = "how many recent events", DefaultValueFactory = _ => 50 };
        var output = Common.Output();
        var cmd = new Command("list", "recent events, newest first") { server, source, ns, limit, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            if (r.GetValue(limit) is < 1 or > 10_000) throw new CliException("--limit must be from 1 to 10000", ExitCodes.Invalid);
            var query = $"limit={r.GetValue(limit)}" + (r.GetValue(source) is { } s ? $"&source={Uri.EscapeDataString(s)}" : "")
                + (r.GetValue(ns) is { } n ? $"&namespace={Uri.EscapeDataString(n)}" : "");
            using var api = server.Client(r);
            var page = await api.GetJsonAsync($"api/v1/events?{query}", ct);
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(page)) : EventPrinter.EventTable(page, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Get()
    {
        var seq = new Argument<long>("sequence") { Description = "the event's sequence number in the log (see `egw events list`)" };
        var server = Common.Server();
        var output = Common.Output();
        var cmd = new Command("get", "one event with its envelope, data and outcomes") { seq, server, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var e = await api.GetJsonAsync($"api/v1/events/{r.GetValue(seq)}", ct);
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(e)) : EventPrinter.EventDetail(e));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
