using EventGateway.Events.EventSources.Calendar;
using EventGateway.Events.EventSources.Github;
using EventGateway.Events.EventSources.Kafka;
using EventGateway.Events.EventSources.S3;
using EventGateway.Events.EventSources.Webhook;
using EventGateway.Model;

namespace EventGateway.Events.EventSources;

/// <summary>One listener per event name of every type an EventSource declares.</summary>
public static class EventListeners
{
    public sealed record Entry(string Type, string EventName, IEventListener Listener);

    public static IReadOnlyList<Entry> For(EventSource source)
    {
        var s = source.Spec;
        var list = new List<Entry>();
        void Add<T>(string type, Dictionary<string, T>? events, Func<T, IEventListener> create)
        {
            if (events is null) return;
            foreach (var (name, spec) in events.OrderBy(e => e.Key, StringComparer.Ordinal)) list.Add(new Entry(type, name, create(spec)));
        }
        Add(SourceTypes.Webhook, s.Webhook, spec => new WebhookListener(spec));
        Add(SourceTypes.Github, s.Github, spec => new GithubListener(spec));
        Add(SourceTypes.Minio, s.Minio, spec => new S3Listener(spec, SourceTypes.Minio));
        Add(SourceTypes.S3, s.S3, spec => new S3Listener(spec, SourceTypes.S3));
        Add(SourceTypes.Kafka, s.Kafka, spec => new KafkaListener(spec));
        Add(SourceTypes.Calendar, s.Calendar, spec => new CalendarListener(spec));
        return list;
    }
}
