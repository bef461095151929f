using System.CommandLine;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

internal static class SensorCommand
{
    public static Command Create()
    {
        var cmd = new Command("sensor", "sensors: their state and what they decided about events");
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
        var cmd = new Command("list", "list sensors with their state and counts") { server, ns, all, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = new ApiClient(r.GetValue(server)!);
            var list = await api.GetJsonAsync($"api/v1/sensors/{(r.GetValue(all) ? "-" : Uri.EscapeDataString(r.GetValue(ns)!))}", ct);
            Console.Write(json ? EventPrinter.Pretty(list["items"]) : SensorPrinter.SensorTable(list, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Get()
    {
        var name = new Argument<string>("name") { Description = "sensor name" };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("get", "show a sensor, its dependencies and per-trigger counts") { name, server, ns, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = new ApiClient(r.GetValue(server)!);
            var s = await api.GetJsonAsync($"api/v1/sensors/{Uri.EscapeDataString(r.GetValue(ns)!)}/{Uri.EscapeDataString(r.GetValue(name)!)}", ct);
            Console.Write(json ? EventPrinter.Pretty(s) : SensorPrinter.SensorDetail(s, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
