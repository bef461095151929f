namespace EventGateway.Events.EventSources;

/// <summary>The EventSource types this service runs; the names are Argo's spec keys and CloudEvent types.</summary>
public static class SourceTypes
{
    public const string Webhook = "webhook";
    public const string Github = "github";
    public const string Minio = "minio";
    public const string S3 = "s3";
    public const string Kafka = "kafka";
    public const string Calendar = "calendar";

    public static readonly string[] All = [Webhook, Github, Minio, S3, Kafka, Calendar];
}
