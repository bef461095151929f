using EventGateway.Model;

namespace EventGateway.EventSources.S3;

/// <summary>
/// Argo's <c>minio</c> and <c>s3</c> sources. Events are CloudEvents of type <paramref name="type"/>
/// with data <c>{"notification": [S3 event record], "metadata": {...}}</c>. They arrive by polling
/// the bucket (<see cref="S3Poller"/>, the default) or as S3 notifications POSTed to us
/// (<see cref="S3NotificationReceiver"/>), chosen by the EventSource's <c>eventgateway.io/s3-*</c>
/// annotations (<see cref="S3Delivery"/>).
/// </summary>
public sealed class S3Listener(S3EventSource spec, string type) : IEventListener
{
    public Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        // Load-time validation covers this too; checked again so a bad annotation never runs half-understood.
        var errors = new List<string>();
        EventSourceValidator.ValidateS3Annotations(ctx.Source, (path, reason) => errors.Add($"{path}: {reason}"));
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
        var delivery = S3Delivery.Require(ctx.Source.Metadata.Annotations);
        return delivery.Polls
            ? new S3Poller(spec, type, delivery, ctx).RunAsync(ct)
            : new S3NotificationReceiver(spec, delivery).RunAsync(ctx, ct);
    }
}
