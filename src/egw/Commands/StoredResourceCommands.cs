using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Cli.Output;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Cli.Commands;

/// <summary>
/// `create FILE...` and `delete NAME...` for the kinds kept as they are written (CronWorkflows, WorkflowTemplates, ClusterWorkflowTemplates), over
/// the Argo Server's collections; their list and get are <see cref="ResourceViews"/>.
/// </summary>
internal static class StoredResourceCommands
{
    /// <param name="envelope">the create request's field, e.g. <c>cronWorkflow</c></param>
    public static Command Create<T>(string description, RestCollection collection, string envelope) where T : Resource
    {
        var files = new Argument<string[]>("files") { Description = "YAML or JSON manifests", Arity = ArgumentArity.OneOrMore };
        var server = Common.Server();
        var ns = Common.Namespace();
        var output = Common.Output();
        var cmd = new Command("create", description) { files, server, output };
        if (!collection.ClusterScoped) cmd.Options.Add(ns);
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            // Every file checked (and a singular schedule converted) before anything is created.
            var docs = RunCommand.ReadAll(r.GetValue(files)!).OfType<T>().ToList();
            if (docs.Count == 0) throw new CliException($"no {typeof(T).Name} in the given files", ExitCodes.Invalid);
            using var api = server.Client(r);
            var created = new JsonArray();
            foreach (var doc in docs)
            {
                if (!collection.ClusterScoped) doc.Metadata.Namespace ??= r.GetValue(ns);
                var body = new JsonObject { [envelope] = JsonSerializer.SerializeToNode(doc, doc.GetType(), Json.Options) };
                var item = await api.PostJsonAsync(collection.In(doc.NamespaceOrDefault), body, ct);
                created.Add(item);
                if (machine is null) Console.WriteLine($"{typeof(T).Name.ToLowerInvariant()}/{doc.Name} created");
            }
            if (machine is not null) Console.Write(machine.Text(EventPrinter.Pretty(created.Count == 1 ? created[0] : created)));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command Delete(string what, RestCollection collection)
    {
        var names = new Argument<string[]>("names") { Description = $"{what} names", Arity = ArgumentArity.OneOrMore };
        var server = Common.Server();
        var ns = Common.Namespace();
        var cmd = new Command("delete", $"delete {what}s (workflows they created stay)") { names, server };
        if (!collection.ClusterScoped) cmd.Options.Add(ns);
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            using var api = server.Client(r);
            foreach (var n in r.GetValue(names)!)
            {
                await api.DeleteJsonAsync($"{collection.In(r.GetValue(ns))}/{Uri.EscapeDataString(n)}", ct);
                Console.WriteLine($"{what} '{n}' deleted");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
