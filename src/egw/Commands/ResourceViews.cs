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
    public static Command List(string description, RestCollection collection, Func<JsonObject, DateTimeOffset, string> table)
    {
        var server = Common.Server();
        var ns = Common.Namespace();
        var all = Common.AllNamespaces();
        var output = Common.Output();
        var cmd = new Command("list", description) { server, output };
        if (!collection.ClusterScoped) { cmd.Options.Add(ns); cmd.Options.Add(all); }
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var list = await api.GetJsonAsync(collection.In(r.GetValue(all) ? "-" : r.GetValue(ns)), ct);
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(list["items"])) : table(list, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command Get(string description, string what, RestCollection collection, Func<JsonObject, DateTimeOffset, string> detail)
    {
        var name = new Argument<string>("name") { Description = $"{what} name" };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("get", description) { name, server, output };
        if (!collection.ClusterScoped) cmd.Options.Add(ns);
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var item = await api.GetJsonAsync($"{collection.In(r.GetValue(ns))}/{Uri.EscapeDataString(r.GetValue(name)!)}", ct);
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(item)) : detail(item, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}

/// <summary>
/// A kind's REST collection, e.g. <c>api/v1/sensors</c>: a namespaced kind's path is followed by the namespace (or <c>-</c>
/// for all), a cluster-scoped kind's (ClusterWorkflowTemplates) by nothing.
/// </summary>
internal sealed record RestCollection(string Path, bool ClusterScoped = false)
{
    public string In(string? ns) => ClusterScoped ? Path : $"{Path}/{Uri.EscapeDataString(ns ?? "default")}";

    public static implicit operator RestCollection(string path) => new(path);
}
