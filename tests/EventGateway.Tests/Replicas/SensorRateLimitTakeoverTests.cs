using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.Sensors;
using EventGateway.Events.Sensors.State;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Sensors;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// A trigger's rateLimit across a takeover: a Sensor runs on one replica at a time, and the replica taking it over
/// starts its limiter with the firings the old owner committed in the last unit, so a takeover never grants a second
/// burst within one window.
/// </summary>
public sealed class SensorRateLimitTakeoverTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task The_replica_taking_a_sensor_over_counts_the_old_owners_firings_of_the_last_unit()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var state = new PostgresSensorStateStore(db);
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())); // the store keeps milliseconds
        var now = time.GetUtcNow();
        // The old owner fired twice in this minute and once long before, then died.
        var batch = new SensorBatch("default/ci");
        foreach (var (key, ago) in new[] { ("d-1", TimeSpan.FromMinutes(5)), ("d-2", TimeSpan.FromSeconds(40)), ("d-3", TimeSpan.FromSeconds(10)) })
            batch.Firings.Add(new FiringRecord("default/ci", "run", key, [1], now - ago, Outcomes.Triggered, null));
        batch.Firings.Add(new FiringRecord("default/ci", "run", "d-4", [2], now - TimeSpan.FromSeconds(5), Outcomes.Duplicate, null));
        batch.Firings.Add(new FiringRecord("default/ci", "other", "d-5", [3], now - TimeSpan.FromSeconds(5), Outcomes.Triggered, null));
        state.Commit(batch);

        // The new owner's limiter, 3/Minute: one firing left in this minute, the next when d-2 is a minute old.
        var limiter = new TriggerRateLimiter(3, TimeSpan.FromMinutes(1), time);
        limiter.Seed(state.FiringsSince("default/ci", "run", now - limiter.Unit));
        using (var first = limiter.AttemptAcquire()) first.IsAcquired.ShouldBeTrue("two of three used by the old owner");
        using (var refused = limiter.AttemptAcquire())
        {
            refused.IsAcquired.ShouldBeFalse("the old owner's two and this one fill the minute");
            refused.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var wait).ShouldBeTrue();
            wait.ShouldBe(TimeSpan.FromSeconds(20), "until d-2, fired 40 s ago, leaves the window");
        }
        time.Advance(TimeSpan.FromSeconds(20));
        using (var later = limiter.AttemptAcquire()) later.IsAcquired.ShouldBeTrue();

        // A limiter not seeded (the embedded store: one process) starts with the whole burst, as before.
        var fresh = new TriggerRateLimiter(3, TimeSpan.FromMinutes(1), time);
        fresh.Seed(((ISensorStateStore)new SqliteSensorStateStore(Path.Combine(Directory.CreateTempSubdirectory("egw-rl-").FullName, "sensors.db")))
            .FiringsSince("default/ci", "run", now - fresh.Unit));
        for (var i = 0; i < 3; i++)
            using (var lease = fresh.AttemptAcquire()) lease.IsAcquired.ShouldBeTrue();
    }
}
