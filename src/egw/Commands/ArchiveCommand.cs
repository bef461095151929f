using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Cli.Output;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Cli.Commands;

/// <summary><c>egw archive list|get|delete</c>: finished workflows the server archived, also after they were removed.</summary>
internal static class ArchiveCommand
{
    public static Command Create()
    {
        var cmd = new Command("archive", "finished workflows kept in the archive (their logs are not archived)");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Get());
        cmd.Subcommands.Add(Delete());
        return cmd;
    }

    private static Command List()
    {
        var server = Common.Server();
        var ns = Common.Namespace();
        var all = Common.AllNamespaces();
        var selector = Common.Selector();
        var prefix = new Option<string?>("--prefix") { Description = "only workflows whose name starts with this" };
        var output = Common.Output();
        var cmd = new Command("list", "list archived workflows, newest archived first") { server, ns, all, selector, prefix, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var query = new List<string>();
            if (!r.GetValue(all)) query.Add($"namespace={Uri.EscapeDataString(r.GetValue(ns)!)}");
            if (r.GetValue(selector) is { Length: > 0 } l) query.Add($"listOptions.labelSelector={Uri.EscapeDataString(l)}");
            if (r.GetValue(prefix) is { Length: > 0 } p) query.Add($"namePrefix={Uri.EscapeDataString(p)}");
            var items = new JsonArray();
            for (string? next = null; ;)
            {
                var page = await api.GetJsonAsync("api/v1/archived-workflows?" + string.Join('&', next is null ? query : [.. query, $"listOptions.continue={Uri.EscapeDataString(next)}"]), ct);
                foreach (var item in page["items"] as JsonArray ?? []) items.Add(item?.DeepClone());
                if ((next = page["metadata"]?["continue"]?.GetValue<string>()) is null) break;
            }
            Console.Write(machine is not null ? machine.Text(EventPrinter.Pretty(items)) : Table(items.Select(i => i.Deserialize<Workflow>(Json.Lenient)!), TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string Table(IEnumerable<Workflow> wfs, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "NAME", "NAMESPACE", "STATUS", "FINISHED", "DURATION", "UID" } };
        foreach (var w in wfs)
            rows.Add([w.Name, w.NamespaceOrDefault, w.Status?.Phase ?? "", w.Status?.FinishedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "",
                WorkflowPrinter.Duration(w.Status?.StartedAt, w.Status?.FinishedAt, now), w.Metadata.Uid ?? ""]);
        return WorkflowPrinter.Columns(rows);
    }

    private static Command Get()
    {
        var uid = new Argument<string>("uid") { Description = "the archived workflow's uid (see egw archive list)" };
        var server = Common.Server();
        var output = Common.Output();
        var cmd = new Command("get", "show an archived workflow and its node tree") { uid, server, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            using var api = server.Client(r);
            var wf = (await api.GetJsonAsync($"api/v1/archived-workflows/{Uri.EscapeDataString(r.GetValue(uid)!)}", ct)).Deserialize<Workflow>(Json.Lenient)!;
            Console.Write(machine is not null ? machine.Text(WorkflowPrinter.ToJson(wf) + "\n") : WorkflowPrinter.Summary(wf, TimeProvider.System.GetUtcNow()));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Delete()
    {
        var uids = new Argument<string[]>("uids") { Description = "archived workflows' uids", Arity = ArgumentArity.OneOrMore };
        var server = Common.Server();
        var cmd = new Command("delete", "delete workflows from the archive") { uids, server };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            using var api = server.Client(r);
            foreach (var uid in r.GetValue(uids)!)
            {
                await api.DeleteJsonAsync($"api/v1/archived-workflows/{Uri.EscapeDataString(uid)}", ct);
                Console.WriteLine($"Archived workflow '{uid}' deleted");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
