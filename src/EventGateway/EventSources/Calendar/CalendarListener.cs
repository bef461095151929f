using EventGateway.Model;

namespace EventGateway.EventSources.Calendar;

// Placeholder until the Calendar listener lands (same session).
public sealed class CalendarListener(CalendarEventSource spec) : IEventListener
{
    public Task RunAsync(ListenerContext context, CancellationToken ct) =>
        throw new NotSupportedException($"{spec.GetType().Name} is not implemented yet");
}
