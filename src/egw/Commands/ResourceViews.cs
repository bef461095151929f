using System.CommandLine;
using System.Text.Json.Nodes;
using EventGateway.Cli.Output;

namespace EventGateway.Cli.Commands;

/// <summary>
/// The `list` and `get` subcommands of a kind the server shows with live status (event sources, sensors):
/// one REST collection, a table for people and `-o json` for machines.
/// </summary>
internal static class ResourceViews
{
    /// <param name="collection">REST path of the kind, e.g. <c>api/v1/sensors</c>; followed by the namespace or <c>-</c> for all.</param>
    public static Command List(string description, string collection, Func<JsonObject, DateTimeOffset, string> table)
    {
        var server = Common.Server();
        var ns = Common.Namespace();
        var all = new Option<bool>("--all-namespaces", "-A") { Description = "every namespace" };
        var output = Common.Output();
        var cmd = new Command("list", description) { server, ns, all, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = new ApiClient(r.GetValue(server)!);
            var list = await api.GetJsonAsync($"{collection}/{(r.GetValue(all) ? "-" : Uri.EscapeDataString(r.GetValue(ns)!))}", ct);
            Console.Write(json ? EventPrinter.Pretty(list["items"]) : table(list, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command Get(string description, string what, string collection, Func<JsonObject, DateTimeOffset, string> detail)
    {
        var name = new Argument<string>("name") { Description = $"{what} name" };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("get", description) { name, server, ns, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var json = Common.Json(r.GetValue(output));
            using var api = new ApiClient(r.GetValue(server)!);
            var item = await api.GetJsonAsync($"{collection}/{Uri.EscapeDataString(r.GetValue(ns)!)}/{Uri.EscapeDataString(r.GetValue(name)!)}", ct);
            Console.Write(json ? EventPrinter.Pretty(item) : detail(item, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
