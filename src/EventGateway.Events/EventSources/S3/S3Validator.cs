using EventGateway.Model;
using EventGateway.Workflows.S3;
using EventGateway.Events.EventSources.S3;

namespace EventGateway.Events.EventSources;

/// <summary>Load-time checks of the <c>minio</c> and <c>s3</c> sources and of the annotations choosing their delivery.</summary>
public sealed partial class EventSourceValidator
{
    static partial void ValidateS3(string at, S3EventSource spec, string type, Action<string, string> fail)
    {
        if (spec.Bucket is null) fail($"{at}.bucket", "missing: the bucket to watch (bucket.name)");
        else if (string.IsNullOrWhiteSpace(spec.Bucket.Name)) fail($"{at}.bucket.name", "missing: the bucket's name");
        else if (spec.Bucket.Name.Any(c => c == '/' || char.IsWhiteSpace(c)))
            fail($"{at}.bucket.name", $"'{spec.Bucket.Name}' is not a bucket name: no '/' or spaces; put a key prefix in filter.prefix");

        if (S3Endpoint.Check(spec, endpointRequired: type == SourceTypes.Minio) is { } why) fail($"{at}.endpoint", why);

        if (spec.Events is not { Count: > 0 })
            fail($"{at}.events", "missing: the bucket events to report, e.g. s3:ObjectCreated:*, s3:ObjectRemoved:*");
        else
            for (var i = 0; i < spec.Events.Count; i++)
                if (!S3EventNames.IsKnown(spec.Events[i] ?? ""))
                    fail($"{at}.events[{i}]", $"'{spec.Events[i]}' is not an S3 bucket event; expected e.g. {S3EventNames.Put}, s3:ObjectCreated:*, s3:ObjectRemoved:*");

        if ((spec.AccessKey is null) != (spec.SecretKey is null))
            fail($"{at}.{(spec.AccessKey is null ? "accessKey" : "secretKey")}", "credentials need both accessKey and secretKey");
        if (spec.SessionToken is not null && spec.AccessKey is null)
            fail($"{at}.sessionToken", "a session token needs accessKey and secretKey too");
        ValidateSelector($"{at}.accessKey", spec.AccessKey, fail);
        ValidateSelector($"{at}.secretKey", spec.SecretKey, fail);
        ValidateSelector($"{at}.sessionToken", spec.SessionToken, fail);
        if (!string.IsNullOrEmpty(spec.RoleArn))
            fail($"{at}.roleARN", "assuming an IAM role is not supported here; give accessKey and secretKey (or useSDKCreds for the AWS default credentials)");
        if (spec.CaCertificate is not null)
            fail($"{at}.caCertificate", "a custom CA is not supported here; serve the endpoint with a certificate the system trusts, or use insecure: true for plain HTTP");
    }

    /// <summary>
    /// The <c>eventgateway.io/s3-*</c> annotations of an EventSource with minio or s3 events: their
    /// values, the events polling can see, and notification endpoints that would collide.
    /// </summary>
    public static void ValidateS3Annotations(EventSource es, Action<string, string> fail)
    {
        var events = (es.Spec.Minio ?? []).Select(e => (Type: SourceTypes.Minio, e.Key, e.Value))
            .Concat((es.Spec.S3 ?? []).Select(e => (Type: SourceTypes.S3, e.Key, e.Value))).ToList();
        if (events.Count == 0) return;
        var delivery = S3Delivery.Read(es.Metadata.Annotations, fail);

        if (delivery.Polls)
        {
            foreach (var (type, name, spec) in events)
            {
                var list = spec?.Events ?? [];
                for (var i = 0; i < list.Count; i++)
                    if (S3EventNames.IsKnown(list[i] ?? "") && !S3EventNames.Matches(list[i], S3EventNames.Put) && !S3EventNames.Matches(list[i], S3EventNames.Delete))
                        fail($"spec.{type}.{name}.events[{i}]",
                            $"'{list[i]}' cannot be seen by polling the bucket, which reports only {S3EventNames.Put} and {S3EventNames.Delete}; "
                            + $"receive S3 notifications instead by setting the annotation {S3Delivery.NotificationPortAnnotation}");
            }
            return;
        }

        var port = delivery.NotificationPort!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (n, w) in es.Spec.Webhook ?? []) if (w?.Port == port && w.Endpoint is not null) taken.TryAdd(w.Endpoint, $"spec.webhook.{n}");
        foreach (var (n, g) in es.Spec.Github ?? []) if (g?.Webhook?.Port == port && g.Webhook.Endpoint is not null) taken.TryAdd(g.Webhook.Endpoint, $"spec.github.{n}.webhook");
        foreach (var (type, name, _) in events)
        {
            var endpoint = delivery.EndpointFor(name);
            var at = $"spec.{type}.{name}";
            if (taken.TryGetValue(endpoint, out var other))
                fail(at, $"notifications on port {port} endpoint {endpoint} collide with {other}; "
                    + $"give each event its own path (drop {S3Delivery.NotificationEndpointAnnotation} to use /<eventName>)");
            else taken[endpoint] = at;
        }
    }
}
