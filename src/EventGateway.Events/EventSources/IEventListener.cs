namespace EventGateway.Events.EventSources;

/// <summary>
/// One event of an EventSource (a key under <c>spec.webhook</c>, <c>spec.kafka</c>, ...), running
/// until cancelled. A listener turns what arrives into envelopes and appends them through
/// <see cref="ListenerContext.PublishAsync"/>; it acknowledges its sender only after that returns.
/// Throwing ends the run: the host records the reason and restarts it with backoff.
/// </summary>
public interface IEventListener
{
    Task RunAsync(ListenerContext context, CancellationToken ct);

    /// <summary>
    /// True for listeners that must run on one replica at a time (they poll, or keep a position of their own: S3 polling,
    /// calendar, Kafka partition mode). Listeners that take requests (webhooks, GitHub, S3 notifications) run on every
    /// replica, and a Kafka consumer group is balanced by Kafka itself.
    /// </summary>
    bool Exclusive(EventGateway.Model.EventSource source) => false;
}
