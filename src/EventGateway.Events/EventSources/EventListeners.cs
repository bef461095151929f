using EventGateway.Model;

namespace EventGateway.Events.EventSources;

/// <summary>One listener per event name of every type an EventSource declares.</summary>
public static class EventListeners
{
    public sealed record Entry(string Type, string EventName, IEventListener Listener);

    public static IReadOnlyList<Entry> For(EventSource source) =>
        [.. SourceTypes.All.SelectMany(type => type.EventsIn(source.Spec)
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => new Entry(type.Name, e.Name, e.Listen())))];
}
