using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// Test hooks for races and mid-stream failures: <see cref="BeforeRequest"/> runs before a request is answered (to
/// make a write land between a client's read and its update, or between two pages of a list), and
/// <see cref="ExpireWatches"/> ends every open watch with an ERROR 410 event, as the API server does when a watcher
/// has fallen behind its watch cache.
/// </summary>
public sealed partial class TestApiServer
{
    /// <summary>Awaited before each request is served (not for requests failed by <see cref="FailNext"/>).</summary>
    public Func<HttpRequest, Task>? BeforeRequest { get; set; }

    /// <summary>Every open watch gets <c>{"type":"ERROR","object":Status 410 Expired}</c> and its stream ends.</summary>
    public void ExpireWatches()
    {
        List<WatchConnection> all;
        lock (_gate)
        {
            all = _watches.ToList();
            _watches.Clear();
            foreach (var w in all)
            {
                w.Lines.Writer.TryWrite(Line("ERROR", StatusObject(410, "Expired", $"too old resource version: the watch fell behind (at {Rv(_rv)})", null)));
                w.Lines.Writer.TryComplete();
            }
        }
    }
}
