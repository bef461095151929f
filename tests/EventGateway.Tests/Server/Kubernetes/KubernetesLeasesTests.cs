using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// <c>--lease kubernetes</c>: replicas' leases as coordination.k8s.io/v1 Lease objects on the test API server, through
/// the real KubernetesClient. Rounds are driven directly (TickAsync) and each replica has its own fake clock: one holder
/// at a time, takeover only after the holder stopped renewing for the lease's duration as the taker observed it, with a
/// higher epoch (leaseTransitions), the stale holder told; 409 on a concurrent update; a hold given up locally at 4/5 of
/// the TTL when the API server is gone; shards shared out; a clean stop hands everything over at once.
/// </summary>
public sealed class KubernetesLeasesTests : IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(15);
    private TestApiServer _api = null!;
    private readonly List<k8s.Kubernetes> _clients = [];

    public async Task InitializeAsync() => _api = await TestApiServer.StartAsync();

    public async Task DisposeAsync()
    {
        _api.BeforeRequest = null;
        foreach (var c in _clients) c.Dispose();
        await _api.DisposeAsync();
    }

    private sealed record Replica(KubernetesLeases Leases, FakeTimeProvider Time);

    private Replica Start(string id, Func<string, long, CancellationToken, Task<long>>? fence = null)
    {
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
        _clients.Add(client);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        return new Replica(new KubernetesLeases(client, "egw", id, Ttl, time, NullLogger<KubernetesLeases>.Instance, fence), time);
    }

    private JsonObject LeaseObject(string lease) => _api.Get("leases", "egw", KubernetesLeases.ObjectName(lease)).ShouldNotBeNull($"no Lease object for {lease}");

    private (string? Holder, long Transitions) Spec(string lease)
    {
        var spec = LeaseObject(lease)["spec"]!;
        return (spec["holderIdentity"]?.GetValue<string>(), spec["leaseTransitions"]!.GetValue<long>());
    }

    [Fact]
    public async Task One_replica_holds_a_lease_and_another_takes_it_over_only_after_it_stopped_renewing_for_the_TTL_with_a_higher_epoch()
    {
        var a = Start("a");
        var b = Start("b");
        var aChanges = 0;
        using var aClaim = a.Leases.Claim("sensor/ci/s", () => Interlocked.Increment(ref aChanges));
        using var bClaim = b.Leases.Claim("sensor/ci/s", () => { });

        await a.Leases.TickAsync();
        await b.Leases.TickAsync();
        aClaim.Held.ShouldBeTrue();
        aClaim.Epoch.ShouldBe(1);
        bClaim.Held.ShouldBeFalse("a holds it and has renewed it within the TTL");
        Spec("sensor/ci/s").ShouldBe(("a", 1L));
        var lease = LeaseObject("sensor/ci/s");
        lease["spec"]!["leaseDurationSeconds"]!.GetValue<int>().ShouldBe(15);
        lease["metadata"]!["annotations"]![KubernetesLeases.NameAnnotation]!.GetValue<string>().ShouldBe("sensor/ci/s");
        var work = aClaim.Lost;

        // a renews every TTL/3 while alive: however long b watches, it cannot take the lease.
        for (var i = 0; i < 6; i++)
        {
            a.Time.Advance(Ttl / 3);
            b.Time.Advance(Ttl / 3);
            await a.Leases.TickAsync();
            await b.Leases.TickAsync();
            bClaim.Held.ShouldBeFalse($"round {i}: a still renews");
        }

        // a stops renewing (its process paused): b sees the Lease unchanged; after the whole TTL on its own clock, it takes it over.
        var waited = TimeSpan.Zero;
        while (!bClaim.Held)
        {
            b.Time.Advance(Ttl / 3);
            waited += Ttl / 3;
            await b.Leases.TickAsync();
            waited.ShouldBeLessThanOrEqualTo(Ttl + Ttl / 3, "taken over within the TTL (plus one round) after a's last renewal");
        }
        waited.ShouldBeGreaterThan(Ttl, "not before the TTL has passed unchanged as b saw it");
        bClaim.Epoch.ShouldBe(2);
        Spec("sensor/ci/s").ShouldBe(("b", 2L));

        // a comes back: its renewal finds b's hold, and its work is cancelled.
        a.Time.Advance(Ttl / 3);
        await a.Leases.TickAsync();
        aClaim.Held.ShouldBeFalse();
        work.IsCancellationRequested.ShouldBeTrue("a's work under the old hold must stop");
        aChanges.ShouldBe(2, "gained once, lost once");
        Spec("sensor/ci/s").ShouldBe(("b", 2L));
    }

    [Fact]
    public async Task A_replica_that_cannot_reach_the_API_server_gives_its_leases_up_at_four_fifths_of_the_TTL_and_refuses_work()
    {
        var a = Start("a");
        using var claim = a.Leases.Claim("singleton/cron", () => { });
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue();
        a.Leases.Unavailable.ShouldBeNull();
        var work = claim.Lost;

        await _api.StopAsync();
        a.Time.Advance(TimeSpan.FromSeconds(6));
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue("one failed renewal is not yet a loss");
        work.IsCancellationRequested.ShouldBeFalse();

        a.Time.Advance(TimeSpan.FromSeconds(6.5));
        await a.Leases.TickAsync();
        claim.Held.ShouldBeFalse("12.5 s > 4/5 of 15 s since the last renewal that reached the API server");
        work.IsCancellationRequested.ShouldBeTrue();
        a.Leases.Unavailable.ShouldNotBeNull().ShouldContain("has not reached the Kubernetes API server's Leases for 12s");

        // Back: the Lease still names a, so a takes it again at once, with a new epoch.
        await _api.StartAsync();
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue();
        claim.Epoch.ShouldBe(2);
        a.Leases.Unavailable.ShouldBeNull();
    }

    [Fact]
    public async Task When_two_replicas_race_for_a_free_lease_the_one_whose_update_comes_second_gets_409_and_stays_out()
    {
        var a = Start("a");
        var b = Start("b");
        var first = a.Leases.Claim("workflows/shard-00", () => { });
        await a.Leases.TickAsync();
        first.Dispose();
        await a.Leases.TickAsync(); // given back: the Lease is there, with no holder
        Spec("workflows/shard-00").ShouldBe((null, 1L));

        using var aClaim = a.Leases.Claim("workflows/shard-00", () => { });
        using var bClaim = b.Leases.Claim("workflows/shard-00", () => { });
        var leaseName = KubernetesLeases.ObjectName("workflows/shard-00");
        var puts = 0;
        // b has read the free Lease in its LIST; before b's update lands, a runs a whole round and takes it.
        _api.BeforeRequest = async req =>
        {
            if (req.Method == "PUT" && req.Path.Value!.EndsWith("/" + leaseName, StringComparison.Ordinal) && Interlocked.Increment(ref puts) == 1)
                await a.Leases.TickAsync();
        };
        await b.Leases.TickAsync();

        puts.ShouldBe(2);
        aClaim.Held.ShouldBeTrue();
        aClaim.Epoch.ShouldBe(2);
        bClaim.Held.ShouldBeFalse("its update named the resourceVersion a replaced");
        _api.Requests.Where(r => r.Method == "PUT" && r.Path.EndsWith("/" + leaseName, StringComparison.Ordinal)).Select(r => r.Status).ShouldBe([200, 200, 409]);
        Spec("workflows/shard-00").ShouldBe(("a", 2L));
    }

    [Fact]
    public async Task A_renewal_that_meets_409_because_someone_else_touched_the_Lease_reads_it_again_and_keeps_the_hold()
    {
        var a = Start("a");
        using var claim = a.Leases.Claim("singleton/reaper", () => { });
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue();
        var leaseName = KubernetesLeases.ObjectName("singleton/reaper");
        var touched = 0;
        _api.BeforeRequest = req =>
        {
            if (req.Method == "PUT" && req.Path.Value!.EndsWith("/" + leaseName, StringComparison.Ordinal) && Interlocked.Increment(ref touched) == 1)
            {
                // kubectl annotate between a's LIST and its renewal: a new resourceVersion, the hold unchanged.
                var lease = _api.Get("leases", "egw", leaseName)!;
                lease["metadata"]!["annotations"]!["note"] = "touched";
                _api.Update("leases", "egw", lease);
            }
            return Task.CompletedTask;
        };
        a.Time.Advance(Ttl / 3);
        await a.Leases.TickAsync();
        touched.ShouldBe(2, "the first PUT met the annotation, the second went through");
        _api.Requests.Count(r => r.Method == "PUT" && r.Path.EndsWith("/" + leaseName, StringComparison.Ordinal) && r.Status == 409).ShouldBe(1);
        claim.Held.ShouldBeTrue();
        claim.Epoch.ShouldBe(1);
        LeaseObject("singleton/reaper")["metadata"]!["annotations"]!["note"]!.GetValue<string>().ShouldBe("touched");
    }

    [Fact]
    public async Task Shards_are_shared_out_between_replicas_and_a_clean_stop_gives_every_lease_back_at_once()
    {
        var a = Start("a");
        var b = Start("b");
        var names = Enumerable.Range(0, 4).Select(i => $"workflows/shard-{i:D2}").ToList();
        var aClaims = names.Select(n => a.Leases.Claim(n, () => { }, idle: () => true)).ToList();
        var bClaims = names.Select(n => b.Leases.Claim(n, () => { }, idle: () => true)).ToList();

        await a.Leases.TickAsync();
        aClaims.Count(c => c.Held).ShouldBe(4, "alone: a takes every shard");
        await b.Leases.TickAsync(); // b joins (membership Lease); nothing free yet
        bClaims.Count(c => c.Held).ShouldBe(0);
        await a.Leases.TickAsync(); // a sees two replicas: hands over its surplus idle shards
        aClaims.Count(c => c.Held).ShouldBe(2);
        await b.Leases.TickAsync();
        bClaims.Count(c => c.Held).ShouldBe(2);
        _api.Get("leases", "egw", KubernetesLeases.ObjectName("replica/a")).ShouldNotBeNull()["metadata"]!["labels"]![KubernetesLeases.RoleLabel]!.GetValue<string>().ShouldBe("replica");

        // a stops cleanly: its Leases are given back, and b takes them at its next round without waiting for the TTL.
        await a.Leases.StartAsync(CancellationToken.None);
        await a.Leases.StopAsync(CancellationToken.None);
        aClaims.ShouldAllBe(c => !c.Held);
        foreach (var n in names.Where((_, i) => !bClaims[i].Held)) Spec(n).Holder.ShouldBeNull();
        await b.Leases.TickAsync();
        bClaims.Count(c => c.Held).ShouldBe(4);
        bClaims.ShouldAllBe(c => c.Epoch >= 2);
        foreach (var c in aClaims.Concat(bClaims)) c.Dispose();
    }

    [Fact]
    public async Task A_hold_is_recorded_in_the_shared_store_before_work_runs_and_one_below_a_recorded_epoch_is_given_back_and_taken_above_it()
    {
        var recorded = new Dictionary<string, long> { ["sensor/ci/t"] = 7 }; // t: 7 from an earlier run with PostgreSQL leases
        var a = Start("a", (name, epoch, _) =>
        {
            lock (recorded)
            {
                if (recorded.GetValueOrDefault(name) > epoch) return Task.FromResult(recorded[name]);
                return Task.FromResult(recorded[name] = epoch);
            }
        });
        using var claim = a.Leases.Claim("sensor/ci/s", () => { });
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue();
        recorded.ShouldContainKeyAndValue("sensor/ci/s", 1L);
        recorded.Keys.ShouldNotContain(k => k.StartsWith("replica/", StringComparison.Ordinal), "membership Leases fence nothing");

        using var refused = a.Leases.Claim("sensor/ci/t", () => { });
        await a.Leases.TickAsync();
        refused.Held.ShouldBeFalse("epoch 1 is below the recorded 7");
        Spec("sensor/ci/t").ShouldBe((null, 7L));
        await a.Leases.TickAsync();
        refused.Held.ShouldBeTrue();
        refused.Epoch.ShouldBe(8);
        recorded["sensor/ci/t"].ShouldBe(8);
    }

    [Fact]
    public void Lease_object_names_are_DNS_subdomains_and_distinct_for_names_that_slug_alike()
    {
        var names = new[] { "workflows/shard-03", "workflows.shard-03", "sensor/ci/My_Sensor", "replica/" + new string('x', 300) }.Select(KubernetesLeases.ObjectName).ToList();
        names.Distinct().Count().ShouldBe(4);
        names.ShouldAllBe(n => n.Length <= 63 && System.Text.RegularExpressions.Regex.IsMatch(n, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
        names[0].ShouldStartWith("egw-workflows-shard-03-");
    }
}
