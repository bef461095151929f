using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.EventSources.Calendar;

/// <summary>
/// Argo's <c>calendar</c> source. Each tick becomes <c>{eventTime, userPayload?, metadata}</c> with the
/// tick as the CloudEvent time and an id derived from (namespace, source, event, tick), so replaying
/// a tick yields the same event. The last tick is stored in the same transaction as its event.
/// After a restart the ticks missed while down are published when <c>persistence.catchup.enabled</c>
/// is true (Argo's default is off, kept here), bounded by <c>catchup.maxDuration</c> and at most
/// <see cref="MaxCatchupTicks"/> (the latest ones); otherwise they are skipped and the count logged.
/// Either way a tick already published is never published again.
/// </summary>
public sealed partial class CalendarListener(CalendarEventSource spec) : IEventListener
{
    /// <summary>A schedule fires once, not once per replica.</summary>
    public bool Exclusive(EventSource source) => true;

    /// <summary>Most missed ticks one catch-up publishes; older ones are dropped (and logged).</summary>
    public const int MaxCatchupTicks = 1000;

    /// <summary>Event data is read by Sensors, never embedded in HTML: keep "+0100" readable rather than "\u002B0100".</summary>
    private static readonly JsonWriterOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Longest single wait: a far tick is waited for in steps, so a clock change is noticed.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    public async Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        var schedule = CalendarSchedule.From(spec, ctx.Time.LocalTimeZone);
        var key = ctx.StateKey("last-tick");
        var now = ctx.Time.GetUtcNow();
        var last = ParseTick(await ctx.Log.GetSourceStateAsync(key, ct).ConfigureAwait(false));
        // An interval keeps the phase of the last tick; on a first start it counts from now (whole seconds, as Argo).
        var origin = last ?? new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var after = last is { } l && l > now ? l : now;

        if (last is { } previous && previous < now)
        {
            var catchup = spec.Persistence?.Catchup;
            if (catchup?.Enabled == true)
            {
                var from = previous;
                if (catchup.MaxDuration is { Length: > 0 } md && Durations.TryParse(md, out var window) && now - window > from) from = now - window;
                var missed = schedule.Between(from, now, origin, MaxCatchupTicks, out var dropped);
                if (dropped) LogCatchupCapped(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, MaxCatchupTicks);
                if (missed.Count > 0)
                {
                    await PublishAsync(ctx, schedule, missed, key, ct).ConfigureAwait(false);
                    LogCaughtUp(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, missed.Count, previous);
                }
            }
            else
            {
                var skipped = schedule.Between(previous, now, origin, MaxCatchupTicks, out var more).Count;
                if (skipped > 0) LogSkipped(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, more ? $"more than {MaxCatchupTicks}" : $"{skipped}", previous);
            }
        }

        ctx.Status.Listening(schedule.Description);
        while (true)
        {
            var tick = schedule.Next(after, origin);
            await WaitUntilAsync(ctx.Time, tick, ct).ConfigureAwait(false);
            await PublishAsync(ctx, schedule, [tick], key, ct).ConfigureAwait(false);
            after = tick;
        }
    }

    private static async Task WaitUntilAsync(TimeProvider time, DateTimeOffset tick, CancellationToken ct)
    {
        for (var due = tick - time.GetUtcNow(); due > TimeSpan.Zero; due = tick - time.GetUtcNow())
            await Task.Delay(due < MaxWait ? due : MaxWait, time, ct).ConfigureAwait(false);
    }

    /// <summary>The ticks that pass the filter, and the last tick as checkpoint, in one durable write.</summary>
    private async Task PublishAsync(ListenerContext ctx, CalendarSchedule schedule, IReadOnlyList<DateTimeOffset> ticks, string key, CancellationToken ct)
    {
        var events = new List<(string, ReadOnlyMemory<byte>, DateTimeOffset)>(ticks.Count);
        foreach (var tick in ticks)
        {
            var data = EventData(schedule.EventTime(tick));
            if (EventFilter.Check(spec.Filter?.Expression, data.Span) is { } why)
            {
                ctx.Status.Reject("filtered");
                LogFiltered(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, tick, why);
                continue;
            }
            events.Add((TickId(ctx.Namespace, ctx.SourceName, ctx.EventName, tick), data, tick));
        }
        await ctx.PublishManyAsync(events, new SourceCheckpoint(key, FormatTick(ticks[^1])), ct).ConfigureAwait(false);
    }

    /// <summary>Argo's CalendarEventData, plus the older <c>userPayload</c> when the spec still carries one.</summary>
    private ReadOnlyMemory<byte> EventData(string eventTime)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, RelaxedJson))
        {
            w.WriteStartObject();
            w.WriteString("eventTime", eventTime);
            if (spec.UserPayload is { } payload)
            {
                w.WritePropertyName("userPayload");
                payload.WriteTo(w);
            }
            Http.WebhookRequest.WriteMetadata(w, spec.Metadata);
            w.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }

    /// <summary>A name-based UUID (version 8, SHA-256) of the tick's identity: the same tick always gets the same id.</summary>
    public static string TickId(string @namespace, string source, string eventName, DateTimeOffset tick)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"calendar\n{@namespace}\n{source}\n{eventName}\n{FormatTick(tick)}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true).ToString();
    }

    private static string FormatTick(DateTimeOffset tick) => tick.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTick(string? text) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "calendar {Namespace}/{Source}/{Event}: caught up {Count} ticks missed since {Last:o}")]
    private static partial void LogCaughtUp(ILogger log, string @namespace, string source, string @event, int count, DateTimeOffset last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "calendar {Namespace}/{Source}/{Event}: catch-up limited to the latest {Max} missed ticks; older ones dropped")]
    private static partial void LogCatchupCapped(ILogger log, string @namespace, string source, string @event, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "calendar {Namespace}/{Source}/{Event}: {Count} ticks missed since {Last:o} were skipped (persistence.catchup.enabled is not true)")]
    private static partial void LogSkipped(ILogger log, string @namespace, string source, string @event, string count, DateTimeOffset last);

    [LoggerMessage(Level = LogLevel.Debug, Message = "calendar {Namespace}/{Source}/{Event}: tick {Tick:o} not published: {Why}")]
    private static partial void LogFiltered(ILogger log, string @namespace, string source, string @event, DateTimeOffset tick, string why);
}
