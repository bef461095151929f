using EventGateway.Execution;
using EventGateway.Hosting;
using EventGateway.Model;

namespace EventGateway.Cli.Output;

/// <summary>Writes a finished step's stdout and stderr to our stderr, each line prefixed by the step's name.</summary>
internal static class StepLogs
{
    private static readonly Lock Gate = new();

    public static void Print(EmbeddedEngine engine, Workflow wf, NodeStatus node, StepKey key, bool multi)
    {
        var prefix = multi ? $"{wf.Name}/{node.DisplayName}" : node.DisplayName;
        lock (Gate)
        {
            foreach (var stream in (string[])["stdout", "stderr"])
            {
                var path = engine.Executor.LogPath(key, stream);
                if (!File.Exists(path)) continue;
                foreach (var line in File.ReadLines(path)) Console.Error.WriteLine($"{prefix}: {line}");
            }
        }
    }
}
