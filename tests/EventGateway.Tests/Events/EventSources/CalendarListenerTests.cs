using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.EventSources.Calendar;
using EventGateway.Events.Log;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The calendar source on a fake clock: ticks, zones, exclusions, and what a restart does to missed ticks.</summary>
public sealed class CalendarListenerTests : IAsyncLifetime
{
    // A quarter second past noon: interval ticks count from the whole second, as Argo's do.
    private static readonly DateTimeOffset T0 = new(2024, 3, 1, 12, 0, 0, 250, TimeSpan.Zero);
    private static readonly DateTimeOffset Noon = new(2024, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(T0);
    private EventTestHost _host = null!;

    private static string Manifest(string fields) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: cal, namespace: ci}
        spec:
          calendar:
            tick:
        {{string.Concat(fields.Split('\n').Select(l => "      " + l + "\n"))}}
        """;

    public async Task InitializeAsync() => _host = await EventTestHost.StartAsync(time: _clock);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task Restart(TimeSpan downFor)
    {
        var dataDir = _host.KeepDataDir();
        await _host.DisposeAsync();
        _clock.Advance(downFor);
        _host = await EventTestHost.StartAsync(time: _clock, dataDir: dataDir, deleteDataDir: true);
        await _host.WaitListeningAsync("ci", "cal");
    }

    private async Task<IReadOnlyList<CloudEvent>> Events() => (await _host.Log.ReadAsync(0, 10_000)).Select(e => e.Event).ToList();

    private static string Id(DateTimeOffset tick) => CalendarListener.TickId("ci", "cal", "tick", tick);

    [Fact]
    public async Task An_interval_ticks_on_the_fake_clock_in_Argos_calendar_shape()
    {
        await _host.ApplyAsync(Manifest("interval: 1m\nmetadata: {purpose: report}\nuserPayload: {region: eu, shards: [1, 2]}"));
        (await Events()).ShouldBeEmpty();
        _host.Sources.StatusOf("ci", "cal")!.Value.Listeners[0].Target.ShouldBe("every 1m");

        _clock.Advance(TimeSpan.FromMinutes(1));
        var first = (await _host.WaitForEventsAsync("cal", 1)).ShouldHaveSingleItem().Event;
        first.Id.ShouldBe(Id(Noon.AddMinutes(1)));
        first.Time.ShouldBe(Noon.AddMinutes(1));
        first.Type.ShouldBe("calendar");
        first.Subject.ShouldBe("tick");
        first.Source.ShouldBe("cal");
        System.Text.Encoding.UTF8.GetString(first.Data.Span).ShouldBe(
            """{"eventTime":"2024-03-01 12:01:00 +0000 UTC","userPayload":{"region":"eu","shards":[1,2]},"metadata":{"purpose":"report"}}""");

        // Two intervals at once: both ticks, each with its own time.
        _clock.Advance(TimeSpan.FromMinutes(2));
        var all = await _host.WaitForEventsAsync("cal", 3);
        all.Select(e => e.Event.Time).ShouldBe([Noon.AddMinutes(1), Noon.AddMinutes(2), Noon.AddMinutes(3)]);
        all.Select(e => e.Event.Id).Distinct().Count().ShouldBe(3);
    }

    [Fact]
    public async Task A_cron_schedule_follows_the_wall_clock_of_its_zone_across_a_DST_change()
    {
        // 2024-03-09 07:00 in New York; clocks go forward on the 10th.
        _clock.SetUtcNow(new DateTimeOffset(2024, 3, 9, 12, 0, 0, TimeSpan.Zero));
        await _host.ApplyAsync(Manifest("schedule: \"0 9 * * *\"\ntimezone: America/New_York"));
        _host.Sources.StatusOf("ci", "cal")!.Value.Listeners[0].Target.ShouldBe("cron '0 9 * * *' in America/New_York");
        _clock.Advance(TimeSpan.FromDays(3));

        var events = await _host.WaitForEventsAsync("cal", 3);
        events.Select(e => e.Event.Time.UtcDateTime).ShouldBe([
            new DateTime(2024, 3, 9, 14, 0, 0, DateTimeKind.Utc),   // 09:00 EST
            new DateTime(2024, 3, 10, 13, 0, 0, DateTimeKind.Utc),  // 09:00 EDT
            new DateTime(2024, 3, 11, 13, 0, 0, DateTimeKind.Utc),
        ]);
        events.Select(e => JsonNode.Parse(e.Event.Data.Span)!["eventTime"]!.GetValue<string>()).ShouldBe([
            "2024-03-09 09:00:00 -0500 EST", "2024-03-10 09:00:00 -0400 EDT", "2024-03-11 09:00:00 -0400 EDT",
        ]);
    }

    [Fact]
    public async Task Exclusion_dates_drop_every_tick_of_their_day()
    {
        await _host.ApplyAsync(Manifest("schedule: \"0 18 * * *\"\nexclusionDates: [\"EXDATE:20240302T000000Z\"]"));
        _clock.Advance(TimeSpan.FromDays(3.5));
        var events = await _host.WaitForEventsAsync("cal", 3);
        events.Select(e => e.Event.Time.Day).ShouldBe([1, 3, 4]);
    }

    [Fact]
    public async Task With_catchup_a_restart_publishes_exactly_the_missed_ticks_with_stable_ids()
    {
        await _host.ApplyAsync(Manifest("interval: 1m\npersistence:\n  catchup: {enabled: true}"));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _host.WaitForEventsAsync("cal", 1);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _host.WaitForEventsAsync("cal", 2);

        await Restart(TimeSpan.FromMinutes(3));
        // Published before the listener reports Listening: the three ticks of the downtime, in one write.
        var events = await Events();
        events.Select(e => e.Time).ShouldBe(Enumerable.Range(1, 5).Select(m => Noon.AddMinutes(m)));
        events.Select(e => e.Id).ShouldBe(Enumerable.Range(1, 5).Select(m => Id(Noon.AddMinutes(m))));

        // And it goes on in the same phase.
        _clock.Advance(TimeSpan.FromMinutes(1));
        (await _host.WaitForEventsAsync("cal", 6))[^1].Event.Time.ShouldBe(Noon.AddMinutes(6));
    }

    [Fact]
    public async Task Without_catchup_missed_ticks_are_skipped_and_the_schedule_keeps_its_phase()
    {
        await _host.ApplyAsync(Manifest("interval: 1m"));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _host.WaitForEventsAsync("cal", 1);

        await Restart(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(20));
        (await Events()).Count.ShouldBe(1);
        _clock.Advance(TimeSpan.FromSeconds(40));
        var events = await _host.WaitForEventsAsync("cal", 2);
        events.Select(e => e.Event.Time).ShouldBe([Noon.AddMinutes(1), Noon.AddMinutes(5)]);
    }

    [Fact]
    public async Task A_restart_right_after_a_tick_does_not_repeat_it()
    {
        await _host.ApplyAsync(Manifest("interval: 1m\npersistence:\n  catchup: {enabled: true}"));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _host.WaitForEventsAsync("cal", 1);

        await Restart(TimeSpan.FromSeconds(1));
        (await Events()).Count.ShouldBe(1);
        _clock.Advance(TimeSpan.FromSeconds(59));
        var events = await _host.WaitForEventsAsync("cal", 2);
        events.Select(e => e.Event.Time).ShouldBe([Noon.AddMinutes(1), Noon.AddMinutes(2)]);
        events.Select(e => e.Event.Id).ShouldBe([Id(Noon.AddMinutes(1)), Id(Noon.AddMinutes(2))]);
    }

    [Fact]
    public async Task Catchup_is_bounded_by_maxDuration()
    {
        await _host.ApplyAsync(Manifest("interval: 1m\npersistence:\n  catchup: {enabled: true, maxDuration: 2m30s}"));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _host.WaitForEventsAsync("cal", 1);

        await Restart(TimeSpan.FromMinutes(10));
        (await Events()).Select(e => e.Time).ShouldBe([Noon.AddMinutes(1), Noon.AddMinutes(9), Noon.AddMinutes(10), Noon.AddMinutes(11)]);
    }

    [Fact]
    public async Task Catchup_publishes_at_most_the_latest_thousand_ticks()
    {
        await _host.ApplyAsync(Manifest("interval: 1s\npersistence:\n  catchup: {enabled: true}"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        await _host.WaitForEventsAsync("cal", 1);

        await Restart(TimeSpan.FromHours(2));
        var times = (await Events()).Select(e => e.Time).ToList();
        times.Count.ShouldBe(1 + CalendarListener.MaxCatchupTicks);
        times[1].ShouldBe(Noon.AddSeconds(1 + 7200 - CalendarListener.MaxCatchupTicks + 1));
        times[^1].ShouldBe(Noon.AddSeconds(1 + 7200));
    }

    [Fact]
    public async Task A_filter_drops_ticks_but_still_moves_the_checkpoint()
    {
        await _host.ApplyAsync(Manifest("interval: 1m\nmetadata: {env: prod}\nfilter: {expression: 'metadata.env == \"staging\"'}\npersistence:\n  catchup: {enabled: true}"));
        _clock.Advance(TimeSpan.FromMinutes(2));
        await Eventually.Get(async () => await _host.Log.GetSourceStateAsync("ci/cal/tick/last-tick") is { } s && s.StartsWith("2024-03-01T12:02", StringComparison.Ordinal) ? s : null,
            "the checkpoint at the second tick");
        (await Events()).ShouldBeEmpty();
        _host.Sources.StatusOf("ci", "cal")!.Value.Listeners[0].Rejected["filtered"].ShouldBe(2);
    }
}
