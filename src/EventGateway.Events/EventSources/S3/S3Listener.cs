using EventGateway.Model;

namespace EventGateway.Events.EventSources.S3;

/// <summary>
/// Argo's <c>minio</c> and <c>s3</c> sources. Events are CloudEvents of the type's name
/// with data <c>{"notification": [S3 event record], "metadata": {...}}</c>. They arrive by polling
/// the bucket (<see cref="S3Poller"/>, the default) or as S3 notifications POSTed to us
/// (<see cref="S3NotificationReceiver"/>), chosen by the EventSource's <c>eventgateway.io/s3-*</c>
/// annotations (<see cref="S3Delivery"/>).
/// </summary>
public sealed class S3Listener(S3EventSource spec, S3SourceType type) : IEventListener
{
    public bool Exclusive(EventSource source) => S3Delivery.Require(source.Metadata.Annotations).Polls;

    public Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        // The annotations were validated with the EventSource (at load and again by the host before starting).
        var delivery = S3Delivery.Require(ctx.Source.Metadata.Annotations);
        return delivery.Polls
            ? new S3Poller(spec, type, delivery, ctx).RunAsync(ct)
            : new S3NotificationReceiver(spec, delivery).RunAsync(ctx, ct);
    }
}
