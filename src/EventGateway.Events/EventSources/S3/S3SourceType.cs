using EventGateway.Model;
using EventGateway.Workflows.S3;
using static EventGateway.Events.EventSources.EventSettingsChecks;

namespace EventGateway.Events.EventSources.S3;

/// <summary>
/// Argo's <c>minio</c> and <c>s3</c> source types: one bucket's object events, with the same settings.
/// They differ in that minio needs an endpoint and in the shape of the records (<see cref="S3Records"/>).
/// The annotations choosing their delivery span events, so the <see cref="EventSourceValidator"/> checks them.
/// </summary>
public sealed class S3SourceType : EventSourceType<S3EventSource>
{
    public static S3SourceType Minio { get; } = new("minio");
    public static S3SourceType S3 { get; } = new("s3");

    private S3SourceType(string name) : base(name) { }

    /// <summary>True for minio: there is no default endpoint to fall back on.</summary>
    public bool EndpointRequired => this == Minio;

    protected override Dictionary<string, S3EventSource>? EventsOf(EventSourceSpec spec) => this == Minio ? spec.Minio : spec.S3;

    public override IEventListener Listen(S3EventSource settings) => new S3Listener(settings, this);

    public override void Validate(string at, S3EventSource spec, Action<string, string> fail)
    {
        if (spec.Bucket is null) fail($"{at}.bucket", "missing: the bucket to watch (bucket.name)");
        else if (string.IsNullOrWhiteSpace(spec.Bucket.Name)) fail($"{at}.bucket.name", "missing: the bucket's name");
        else if (spec.Bucket.Name.Any(c => c == '/' || char.IsWhiteSpace(c)))
            fail($"{at}.bucket.name", $"'{spec.Bucket.Name}' is not a bucket name: no '/' or spaces; put a key prefix in filter.prefix");

        if (S3Endpoint.Check(spec, endpointRequired: EndpointRequired) is { } why) fail($"{at}.endpoint", why);

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
}
