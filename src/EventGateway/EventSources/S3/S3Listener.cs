using EventGateway.Model;

namespace EventGateway.EventSources.S3;

// Placeholder until the S3 listener lands (same session).
public sealed class S3Listener(S3EventSource spec, string type) : IEventListener
{
    public Task RunAsync(ListenerContext context, CancellationToken ct) =>
        throw new NotSupportedException($"{type} {spec.Bucket?.Name} is not implemented yet");
}
