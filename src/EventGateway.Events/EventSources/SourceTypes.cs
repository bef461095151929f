using EventGateway.Events.EventSources.Calendar;
using EventGateway.Events.EventSources.Github;
using EventGateway.Events.EventSources.Kafka;
using EventGateway.Events.EventSources.S3;
using EventGateway.Events.EventSources.Webhook;

namespace EventGateway.Events.EventSources;

/// <summary>The EventSource types this service runs; the only list of them.</summary>
public static class SourceTypes
{
    /// <summary>In the order errors are reported and listeners started.</summary>
    public static readonly IReadOnlyList<IEventSourceType> All =
        [WebhookSourceType.Instance, GithubSourceType.Instance, S3SourceType.Minio, S3SourceType.S3, KafkaSourceType.Instance, CalendarSourceType.Instance];

    /// <summary>Their spec keys, for messages naming what is supported.</summary>
    public static readonly IReadOnlyList<string> Names = [.. All.Select(t => t.Name)];
}
