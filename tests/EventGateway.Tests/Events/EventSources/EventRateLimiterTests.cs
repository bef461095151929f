using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.EventSources.Kafka;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>limitEventsPerSecond's bucket, alone and as a consumer group member's share of the group's limit.</summary>
public sealed class EventRateLimiterTests
{
    [Fact]
    public async Task A_member_with_half_the_partitions_lets_half_the_limit_through()
    {
        var time = new FakeTimeProvider();
        var limiter = new EventRateLimiter(8, time);
        (await limiter.AcquireAsync(100, default)).ShouldBe(8, "alone, a second's worth of the whole limit");

        limiter.ShareOut(2, 4);
        limiter.PerSecond.ShouldBe(4);
        time.Advance(TimeSpan.FromSeconds(10));
        (await limiter.AcquireAsync(100, default)).ShouldBe(4, "the bucket holds a second of its share, not of the limit");
        time.Advance(TimeSpan.FromSeconds(0.5));
        (await limiter.AcquireAsync(100, default)).ShouldBe(2);

        limiter.ShareOut(4, 4);
        time.Advance(TimeSpan.FromSeconds(10));
        (await limiter.AcquireAsync(100, default)).ShouldBe(8, "the whole group's partitions: the whole limit again");
    }

    [Fact]
    public void A_member_without_partitions_keeps_one_partitions_share_and_an_unknown_topic_the_whole_limit()
    {
        var limiter = new EventRateLimiter(8, new FakeTimeProvider());
        limiter.ShareOut(0, 4);
        limiter.PerSecond.ShouldBe(2, "a batch polled before a revocation must still drain");
        limiter.ShareOut(3, 0);
        limiter.PerSecond.ShouldBe(8);
    }

    [Fact]
    public async Task A_share_below_one_event_a_second_still_lets_one_through_when_its_time_comes()
    {
        var time = new FakeTimeProvider();
        var limiter = new EventRateLimiter(1, time);
        limiter.ShareOut(1, 4); // 0.25 events/s
        (await limiter.AcquireAsync(5, default)).ShouldBe(1);
        var next = limiter.AcquireAsync(5, default).AsTask();
        time.Advance(TimeSpan.FromSeconds(1));
        next.IsCompleted.ShouldBeFalse("a quarter of an event is not an event");
        time.Advance(TimeSpan.FromSeconds(3));
        (await next.WaitAsync(TimeSpan.FromSeconds(30))).ShouldBe(1);
    }
}
