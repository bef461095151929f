using EventGateway.Model;

namespace EventGateway.EventSources.Kafka;

// Placeholder until the Kafka listener lands (same session).
public sealed class KafkaListener(KafkaEventSource spec) : IEventListener
{
    public Task RunAsync(ListenerContext context, CancellationToken ct) =>
        throw new NotSupportedException($"{spec.GetType().Name} is not implemented yet");
}
