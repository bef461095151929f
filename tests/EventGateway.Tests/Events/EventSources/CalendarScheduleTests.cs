using Shouldly;
using EventGateway.Events.EventSources.Calendar;
using EventGateway.Model;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>Tick arithmetic without a clock: cron in a zone through DST gaps and repeats, cron day rules, intervals, Go's time format.</summary>
public sealed class CalendarScheduleTests
{
    private static readonly DateTimeOffset Origin = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CalendarSchedule Schedule(string? cron = null, string? interval = null, string? zone = null, params string[] exclusions) =>
        CalendarSchedule.From(new CalendarEventSource { Schedule = cron, Interval = interval, Timezone = zone, ExclusionDates = [.. exclusions] }, TimeZoneInfo.Utc);

    private static List<DateTimeOffset> Ticks(CalendarSchedule s, DateTimeOffset after, int n)
    {
        var ticks = new List<DateTimeOffset>();
        for (var t = after; ticks.Count < n;) ticks.Add(t = s.Next(t, Origin));
        return ticks;
    }

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0) => new(2024, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void A_wall_time_skipped_by_spring_forward_fires_as_far_past_the_jump()
    {
        var s = Schedule("30 2 * * *", zone: "America/New_York");
        var ticks = Ticks(s, Utc(3, 9, 0), 3);
        ticks.ShouldBe([Utc(3, 9, 7, 30), Utc(3, 10, 7, 30), Utc(3, 11, 6, 30)]);
        ticks.Select(s.EventTime).ShouldBe(["2024-03-09 02:30:00 -0500 EST", "2024-03-10 03:30:00 -0400 EDT", "2024-03-11 02:30:00 -0400 EDT"]);
    }

    [Fact]
    public void A_wall_time_repeated_by_fall_back_fires_once()
    {
        var s = Schedule("30 1 * * *", zone: "America/New_York");
        Ticks(s, Utc(11, 2, 12), 3).ShouldBe([Utc(11, 3, 5, 30), Utc(11, 4, 6, 30), Utc(11, 5, 6, 30)]);
        // Only the first 01:30 counts: starting inside the repeated hour (01:10 EST) waits for the next day.
        Ticks(s, Utc(11, 3, 6, 10), 1).ShouldBe([Utc(11, 4, 6, 30)]);
    }

    [Fact]
    public void Frequent_ticks_cross_both_DST_changes_without_duplicates()
    {
        var s = Schedule("*/30 * * * *", zone: "Europe/Berlin");
        // 31 March 2024: 02:00 CET jumps to 03:00 CEST.
        Ticks(s, new DateTimeOffset(2024, 3, 31, 0, 45, 0, TimeSpan.Zero), 3).ShouldBe([Utc(3, 31, 1, 0), Utc(3, 31, 1, 30), Utc(3, 31, 2, 0)]);
        var autumn = Ticks(s, Utc(10, 26, 23, 45), 8);
        autumn.ShouldBeUnique();
        autumn.Zip(autumn.Skip(1)).ShouldAllBe(p => p.First < p.Second);
    }

    [Fact]
    public void Restricted_day_of_month_and_day_of_week_fire_on_either_as_in_cron()
    {
        // The 13th, or any Friday (Argo's cron library and Vixie cron), not only Friday the 13th.
        Ticks(Schedule("0 0 13 * FRI"), Utc(9, 1, 0), 3).ShouldBe([Utc(9, 6, 0), Utc(9, 13, 0), Utc(9, 20, 0)]);
        Ticks(Schedule("0 0 ? * MON"), Utc(9, 1, 0), 1).ShouldBe([Utc(9, 2, 0)]);
    }

    [Fact]
    public void An_interval_keeps_the_phase_of_its_origin_and_rounds_like_Argo()
    {
        var s = Schedule(interval: "90s");
        s.Next(Origin.AddSeconds(100), Origin).ShouldBe(Origin.AddSeconds(180));
        s.Next(Origin.AddSeconds(180), Origin).ShouldBe(Origin.AddSeconds(270));
        Schedule(interval: "1500ms").Next(Origin, Origin).ShouldBe(Origin.AddSeconds(1));
        Schedule(interval: "200ms").Next(Origin, Origin).ShouldBe(Origin.AddSeconds(1));
    }

    [Fact]
    public void Exclusions_compare_the_day_in_the_schedules_zone()
    {
        // 23:30 in New York on the 4th is 04:30 UTC on the 5th: dropped. The 5th's tick falls on the 6th in UTC: kept.
        var s = Schedule("30 23 * * *", null, "America/New_York", "EXDATE:20240304T000000Z,20240306T120000Z");
        Ticks(s, Utc(3, 3, 12), 3).Select(t => TimeZoneInfo.ConvertTime(t, s.Zone).Day).ShouldBe([3, 5, 7]);
    }

    [Fact]
    public void Between_lists_missed_ticks_and_keeps_only_the_latest()
    {
        var s = Schedule(interval: "1m");
        s.Between(Origin, Origin.AddMinutes(3), Origin, 10, out var dropped).ShouldBe([Origin.AddMinutes(1), Origin.AddMinutes(2), Origin.AddMinutes(3)]);
        dropped.ShouldBeFalse();
        s.Between(Origin, Origin.AddDays(30), Origin, 2, out dropped).ShouldBe([Origin.AddDays(30).AddMinutes(-1), Origin.AddDays(30)]);
        dropped.ShouldBeTrue();
    }

    [Fact]
    public void Event_time_is_Gos_time_String()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        GoTime.Format(new DateTimeOffset(2024, 7, 1, 10, 0, 0, TimeSpan.Zero), berlin).ShouldBe("2024-07-01 12:00:00 +0200 CEST");
        GoTime.Format(new DateTimeOffset(2024, 1, 1, 10, 0, 0, 120, TimeSpan.Zero), TimeZoneInfo.Utc).ShouldBe("2024-01-01 10:00:00.12 +0000 UTC");
        GoTime.Format(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata")).ShouldBe("2024-01-01 15:30:00 +0530 IST");
    }

    [Fact]
    public void Tick_ids_depend_on_the_tick_and_its_event_only()
    {
        var id = CalendarListener.TickId("ci", "cal", "tick", Utc(3, 1, 12));
        CalendarListener.TickId("ci", "cal", "tick", Utc(3, 1, 12)).ShouldBe(id);
        CalendarListener.TickId("ci", "cal", "tick", Utc(3, 1, 12, 1)).ShouldNotBe(id);
        CalendarListener.TickId("ci", "cal", "other", Utc(3, 1, 12)).ShouldNotBe(id);
        CalendarListener.TickId("prod", "cal", "tick", Utc(3, 1, 12)).ShouldNotBe(id);
        Guid.Parse(id).Version.ShouldBe(8);
    }
}
