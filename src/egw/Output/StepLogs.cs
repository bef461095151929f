using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;

namespace EventGateway.Cli.Output;

/// <summary>
/// Streams running steps' stdout and stderr to our stderr, each line prefixed by the step's name:
/// whole lines as they appear, and whatever is left when the step ends.
/// </summary>
internal sealed class StepLogs : IWorkflowObserver, IAsyncDisposable
{
    private sealed class Follow(string prefix, StepKey key)
    {
        public string Prefix { get; } = prefix;
        public StepKey Key { get; } = key;
        public long[] Offsets { get; } = new long[2];
    }

    private static readonly string[] Streams = ["stdout", "stderr"];
    private readonly IStepExecutor _executor;
    private readonly bool _multi;
    private readonly Dictionary<string, Follow> _follows = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public StepLogs(IStepExecutor executor, bool multi)
    {
        (_executor, _multi) = (executor, multi);
        _loop = PollAsync();
    }

    public void StepStarted(Workflow wf, NodeStatus node, StepKey key)
    {
        lock (_gate) _follows.TryAdd(Id(key), new Follow(_multi ? $"{wf.Name}/{node.DisplayName}" : node.DisplayName, key));
    }

    public void StepFinished(Workflow wf, NodeStatus node, StepKey key)
    {
        lock (_gate)
        {
            if (!_follows.Remove(Id(key), out var f)) f = new Follow(_multi ? $"{wf.Name}/{node.DisplayName}" : node.DisplayName, key);
            Print(f, final: true);
        }
    }

    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
                lock (_gate)
                    foreach (var f in _follows.Values) Print(f, final: false);
        }
        catch (OperationCanceledException) { }
    }

    private void Print(Follow f, bool final)
    {
        for (var s = 0; s < Streams.Length; s++)
        {
            var path = _executor.LogPath(f.Key, Streams[s]);
            if (!File.Exists(path)) continue;
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (file.Length <= f.Offsets[s]) continue;
            file.Position = f.Offsets[s];
            var bytes = new byte[file.Length - f.Offsets[s]];
            file.ReadExactly(bytes);
            var end = final ? bytes.Length : Array.LastIndexOf(bytes, (byte)'\n') + 1;
            if (end <= 0) continue;
            f.Offsets[s] += end;
            foreach (var line in System.Text.Encoding.UTF8.GetString(bytes, 0, end).TrimEnd('\n').Split('\n'))
                Console.Error.WriteLine($"{f.Prefix}: {line}");
        }
    }

    private static string Id(StepKey k) => $"{k.Namespace}/{k.Workflow}/{k.NodeId}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
