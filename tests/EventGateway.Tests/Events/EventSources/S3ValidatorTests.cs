using Shouldly;
using EventGateway.Events.EventSources;
using EventGateway.Model;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>Load-time errors of the minio/s3 sources and of the eventgateway.io/s3-* annotations: exact field path and reason.</summary>
public sealed class S3ValidatorTests
{
    private static string Yaml(string events, string annotations = "", string type = "minio") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata:
          name: bucket-src
          annotations:
            owner: data-team
        {{annotations}}
        spec:
          {{type}}:
        {{events}}
        """;

    private const string Good = """
            upload:
              endpoint: minio:9000
              bucket: {name: input}
              events: [s3:ObjectCreated:Put, s3:ObjectRemoved:*]
        """;

    /// <summary>
    /// Every error for the YAML: what ManifestReader reports, plus the annotation checks for a document it
    /// accepted (they take the whole EventSource, so the shared validator has to call them: until it does,
    /// they are asked here directly; once it does, a refused document is not asked twice).
    /// </summary>
    private static (string Path, string Reason)[] Errors(string yaml)
    {
        var (valid, errors) = ManifestReader.ReadEach(yaml, "s3.yaml");
        var all = errors.Select(e => (e.Path, e.Reason)).ToList();
        foreach (var es in valid.OfType<EventSource>()) EventSourceValidator.ValidateS3Annotations(es, (p, r) => all.Add((p, r)));
        return all.ToArray();
    }

    [Fact]
    public void A_valid_minio_source_has_no_errors() => Errors(Yaml(Good)).ShouldBeEmpty();

    [Fact]
    public void Missing_bucket_and_bucket_name_are_refused()
    {
        Errors(Yaml("""
                a:
                  endpoint: minio:9000
                  events: [s3:ObjectCreated:Put]
                b:
                  endpoint: minio:9000
                  bucket: {key: x}
                  events: [s3:ObjectCreated:Put]
                c:
                  endpoint: minio:9000
                  bucket: {name: in/put}
                  events: [s3:ObjectCreated:Put]
            """)).ShouldBe([
            ("spec.minio.a.bucket", "missing: the bucket to watch (bucket.name)"),
            ("spec.minio.b.bucket.name", "missing: the bucket's name"),
            ("spec.minio.c.bucket.name", "'in/put' is not a bucket name: no '/' or spaces; put a key prefix in filter.prefix"),
        ]);
    }

    [Fact]
    public void Minio_needs_an_endpoint_and_s3_defaults_to_AWS()
    {
        const string noEndpoint = """
                upload:
                  bucket: {name: input}
                  events: [s3:ObjectCreated:Put]
            """;
        Errors(Yaml(noEndpoint)).ShouldBe([("spec.minio.upload.endpoint", "missing: the MinIO server's host:port, e.g. minio.example.com:9000")]);
        Errors(Yaml(noEndpoint, type: "s3")).ShouldBeEmpty();
        Errors(Yaml("""
                upload:
                  endpoint: http://minio:9000/input
                  bucket: {name: input}
                  events: [s3:ObjectCreated:Put]
            """)).ShouldBe([("spec.minio.upload.endpoint", "'http://minio:9000/input' has a path; give only the server (host:port), the bucket goes in bucket.name")]);
    }

    [Fact]
    public void Unknown_or_missing_event_names_are_refused()
    {
        Errors(Yaml("""
                a:
                  endpoint: minio:9000
                  bucket: {name: input}
                  events: [s3:ObjectCreated:Put, s3:ObjectCreated, ObjectCreated:*]
                b:
                  endpoint: minio:9000
                  bucket: {name: input}
            """)).ShouldBe([
            ("spec.minio.a.events[1]", "'s3:ObjectCreated' is not an S3 bucket event; expected e.g. s3:ObjectCreated:Put, s3:ObjectCreated:*, s3:ObjectRemoved:*"),
            ("spec.minio.a.events[2]", "'ObjectCreated:*' is not an S3 bucket event; expected e.g. s3:ObjectCreated:Put, s3:ObjectCreated:*, s3:ObjectRemoved:*"),
            ("spec.minio.b.events", "missing: the bucket events to report, e.g. s3:ObjectCreated:*, s3:ObjectRemoved:*"),
        ]);
    }

    [Fact]
    public void Credentials_come_in_pairs_and_unsupported_fields_are_named()
    {
        Errors(Yaml("""
                upload:
                  endpoint: minio:9000
                  bucket: {name: input}
                  events: [s3:ObjectCreated:Put]
                  accessKey: {name: creds}
                  roleARN: arn:aws:iam::1:role/x
            """)).ShouldBe([
            ("spec.minio.upload.secretKey", "credentials need both accessKey and secretKey"),
            ("spec.minio.upload.accessKey.key", "missing: the key within the Secret"),
            ("spec.minio.upload.roleARN", "assuming an IAM role is not supported here; give accessKey and secretKey (or useSDKCreds for the AWS default credentials)"),
        ]);
    }

    [Fact]
    public void Polling_refuses_events_it_cannot_see()
    {
        Errors(Yaml("""
                upload:
                  endpoint: minio:9000
                  bucket: {name: input}
                  events: [s3:ObjectCreated:*, s3:ObjectAccessed:Get]
            """)).ShouldBe([
            ("spec.minio.upload.events[1]", "'s3:ObjectAccessed:Get' cannot be seen by polling the bucket, which reports only s3:ObjectCreated:Put and "
                + "s3:ObjectRemoved:Delete; receive S3 notifications instead by setting the annotation eventgateway.io/s3-notification-port"),
        ]);
        Errors(Yaml("""
                upload:
                  endpoint: minio:9000
                  bucket: {name: input}
                  events: [s3:ObjectCreated:*, s3:ObjectAccessed:Get]
            """, annotations: "    eventgateway.io/s3-notification-port: \"12000\"")).ShouldBeEmpty();
    }

    [Fact]
    public void Bad_annotation_values_are_refused_by_name()
    {
        Errors(Yaml(Good, annotations: """
                eventgateway.io/s3-poll-interval: soon
                eventgateway.io/s3-poll-max-objects: "0"
                eventgateway.io/s3-pol-interval: 5s
            """)).ShouldBe([
            ("metadata.annotations.eventgateway.io/s3-pol-interval", "unknown annotation; known: eventgateway.io/s3-poll-interval, eventgateway.io/s3-poll-max-objects, "
                + "eventgateway.io/s3-notification-port, eventgateway.io/s3-notification-endpoint, eventgateway.io/s3-notification-token"),
            ("metadata.annotations.eventgateway.io/s3-poll-interval", "'soon' is not a duration like 10s, 2m or 1h"),
            ("metadata.annotations.eventgateway.io/s3-poll-max-objects", "'0' is not a number of objects from 1 to 100000"),
        ]);
        Errors(Yaml(Good, annotations: "    eventgateway.io/s3-poll-interval: 100ms")).ShouldBe([
            ("metadata.annotations.eventgateway.io/s3-poll-interval", "'100ms' is out of range: polls run every 1s to 24h"),
        ]);
        Errors(Yaml(Good, annotations: """
                eventgateway.io/s3-notification-port: "70000"
                eventgateway.io/s3-notification-endpoint: events
                eventgateway.io/s3-notification-token: just-a-name
                eventgateway.io/s3-poll-interval: 30s
            """)).ShouldBe([
            ("metadata.annotations.eventgateway.io/s3-notification-port", "'70000' is not a port number (1-65535)"),
            ("metadata.annotations.eventgateway.io/s3-notification-endpoint", "'events' must start with '/'"),
            ("metadata.annotations.eventgateway.io/s3-notification-token", "'just-a-name' is not a Secret key reference of the form secretName/key"),
            ("metadata.annotations.eventgateway.io/s3-poll-interval",
                "applies to polling only, but eventgateway.io/s3-notification-port selects notifications: remove one of them"),
        ]);
        Errors(Yaml(Good, annotations: "    eventgateway.io/s3-notification-token: hook/token")).ShouldBe([
            ("metadata.annotations.eventgateway.io/s3-notification-token", "applies to notifications only: set eventgateway.io/s3-notification-port too, or remove it"),
        ]);
    }

    [Fact]
    public void Notification_endpoints_that_collide_are_refused()
    {
        Errors(Yaml("""
                a:
                  endpoint: minio:9000
                  bucket: {name: input}
                  events: [s3:ObjectCreated:Put]
                b:
                  endpoint: minio:9000
                  bucket: {name: input}
                  events: [s3:ObjectRemoved:*]
            """, annotations: """
                eventgateway.io/s3-notification-port: "12000"
                eventgateway.io/s3-notification-endpoint: /minio
            """)).ShouldBe([
            ("spec.minio.b", "notifications on port 12000 endpoint /minio collide with spec.minio.a; give each event its own path "
                + "(drop eventgateway.io/s3-notification-endpoint to use /<eventName>)"),
        ]);
    }
}
