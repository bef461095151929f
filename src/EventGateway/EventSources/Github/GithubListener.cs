using EventGateway.Model;

namespace EventGateway.EventSources.Github;

// Placeholder until the Github listener lands (same session).
public sealed class GithubListener(GithubEventSource spec) : IEventListener
{
    public Task RunAsync(ListenerContext context, CancellationToken ct) =>
        throw new NotSupportedException($"{spec.GetType().Name} is not implemented yet");
}
