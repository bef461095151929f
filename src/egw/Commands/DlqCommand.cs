using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

/// <summary>Firings that failed after their retries and had no dlqTrigger: list them, fire them again.</summary>
internal static class DlqCommand
{
    public static Command Create()
    {
        var cmd = new Command("dlq", "dead letters: trigger firings that failed and wait to be replayed");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Replay());
        return cmd;
    }

    private static Command List()
    {
        var server = Common.Server();
        var sensor = new Option<string?>("--sensor") { Description = "only this sensor's, as namespace/name" };
        var all = new Option<bool>("--all") { Description = "include dead letters already replayed" };
        var output = Common.Output();
        var cmd = new Command("list", "dead letters, newest first") { server, sensor, all, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            var query = $"all={(r.GetValue(all) ? "true" : "false")}" + (r.GetValue(sensor) is { } s ? $"&sensor={Uri.EscapeDataString(s)}" : "");
            using var api = server.Client(r);
            var list = await api.GetJsonAsync($"api/v1/dead-letters?{query}", ct);
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(list["items"])) : SensorPrinter.DeadLetterTable(list, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Replay()
    {
        var id = new Argument<long>("id") { Description = "the dead letter's id (see `egw dlq list`)" };
        var server = Common.Server();
        var output = Common.Output();
        var cmd = new Command("replay", "fire the dead letter's trigger again with its events; exits 1 if it fails again") { id, server, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var result = await api.PostJsonAsync($"api/v1/dead-letters/{r.GetValue(id)}/replay", null, ct);
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(result)) : SensorPrinter.Replay(result));
            return result["outcome"]?.GetValue<string>() == "triggered" ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }
}
