using System.CommandLine;

namespace EventGateway.Cli.Commands;

internal static class LogsCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "workflow name, or @latest" };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep streaming until the workflow completes" };
        var server = Common.Server();
        var ns = Common.Namespace();
        var cmd = new Command("logs", "print the logs of a workflow's steps") { name, follow, server, ns };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            using var api = server.Client(r);
            // A workflow that is gone: the server's log answer says why (e.g. removed by its ttlStrategy, only archived).
            if (r.GetValue(name) != "@latest" && await api.GetAsync(r.GetValue(ns)!, r.GetValue(name)!, ct) is null)
                await foreach (var _ in api.LogsAsync(r.GetValue(ns)!, r.GetValue(name)!, false, ct)) { }
            var wf = await GetCommand.Resolve(api, r.GetValue(ns)!, r.GetValue(name)!, ct);
            var names = wf.Status?.Nodes?.Values.ToDictionary(n => n.Id, n => n.DisplayName) ?? [];
            await foreach (var (pod, line) in api.LogsAsync(wf.NamespaceOrDefault, wf.Name, r.GetValue(follow), ct))
                Console.WriteLine($"{(names.TryGetValue(pod, out var display) ? display : pod)}: {line}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
