using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Events.Log;

/// <summary>One nats-server for the contract tests of a run; each test has a stream of its own.</summary>
public sealed class NatsServerFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await NatsServer.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class JetStreamEventLogTests(NatsServerFixture nats) : EventLogContractTests<JetStreamEventLog>, IClassFixture<NatsServerFixture>
{
    private readonly string _stream = "T" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();

    protected override Task<JetStreamEventLog> OpenAsync(EventLogOptions? options = null) => Open(nats.Server, options);

    private Task<JetStreamEventLog> Open(NatsServer server, EventLogOptions? options = null) =>
        JetStreamEventLog.OpenAsync(server.Url, options ?? new EventLogOptions(), _time, NullLogger<JetStreamEventLog>.Instance, _stream);

    [Fact]
    public async Task A_retried_publish_of_the_same_event_is_stored_once_under_its_first_sequence()
    {
        var first = await _log.AppendAsync([Event("delivery-1"), Event("delivery-2")]);
        // The sender did not see the acknowledgement and sends again: the duplicate window answers with the first sequences.
        var retry = await _log.AppendAsync([Event("delivery-1"), Event("delivery-2")]);
        retry.ShouldBe(first);
        (await _log.StatsAsync()).Count.ShouldBe(2);
        // The same id from another source is another event (CloudEvents identity is source + id).
        (await _log.AppendAsync([Event("delivery-1", source: "other")])).ShouldBe([3L]);
    }

    [Fact]
    public async Task The_checkpoint_stays_when_the_publish_fails()
    {
        await _log.AppendAsync([Event("e0")], new SourceCheckpoint("default/s3/upload", "listing-0"));
        // The second event is larger than the server takes (max_payload 1 MiB): the append is refused as a whole.
        var tooBig = new EventToAppend("default", Event("e2").Event with { Data = new byte[2 * 1024 * 1024] });
        var e = await Should.ThrowAsync<EventLogUnavailableException>(() =>
            _log.AppendAsync([Event("e1"), tooBig], new SourceCheckpoint("default/s3/upload", "listing-1")));
        e.Message.ShouldContain("max_payload");
        (await _log.GetSourceStateAsync("default/s3/upload")).ShouldBe("listing-0");
        (await _log.StatsAsync()).Count.ShouldBe(1);

        // The source re-sends from its old checkpoint; then the checkpoint moves.
        (await _log.AppendAsync([Event("e1"), Event("e2")], new SourceCheckpoint("default/s3/upload", "listing-1"))).ShouldBe([2L, 3L]);
        (await _log.GetSourceStateAsync("default/s3/upload")).ShouldBe("listing-1");
        (await _log.ReadAsync(0, 10)).Select(x => x.Event.Id).ShouldBe(["e0", "e1", "e2"]);
    }

    [Fact]
    public async Task The_checkpoint_stays_when_the_bus_is_gone_and_the_resend_is_stored_once()
    {
        await using var server = await NatsServer.StartAsync();
        await using var log = await Open(server);
        (await log.AppendAsync([Event("e1")], new SourceCheckpoint("default/s3/upload", "listing-1"))).ShouldBe([1L]);
        await server.StopAsync();
        await Eventually.Get(() => Task.FromResult(log.AcceptsWrites ? null : "refusing"), "AcceptsWrites to turn false", TimeSpan.FromSeconds(30));
        await Should.ThrowAsync<EventLogUnavailableException>(() =>
            log.AppendAsync([Event("e1"), Event("e2")], new SourceCheckpoint("default/s3/upload", "listing-2")));
        await server.StartAgainAsync();
        var resent = await Eventually.Get(async () =>
        {
            try { return await log.AppendAsync([Event("e1"), Event("e2")], new SourceCheckpoint("default/s3/upload", "listing-2")); }
            catch (EventLogUnavailableException) { return null; }
        }, "the resend after the restart", TimeSpan.FromSeconds(60));
        // e1 was acknowledged before the outage and is still in the duplicate window: stored once, same sequence.
        resent.ShouldBe([1L, 2L]);
        (await log.GetSourceStateAsync("default/s3/upload")).ShouldBe("listing-2");
        (await log.StatsAsync()).Count.ShouldBe(2);
    }

    [Fact]
    public async Task Retention_by_count_is_a_stream_limit_and_sequences_are_never_reused()
    {
        await _log.DisposeAsync();
        _log = await OpenAsync(new EventLogOptions { RetentionMaxEvents = 3, RetentionMaxAge = TimeSpan.FromHours(1) });
        await _log.AppendAsync([Event("n1"), Event("n2"), Event("n3"), Event("n4"), Event("n5")]);
        (await _log.ReadAsync(0, 10)).Select(e => e.Event.Id).ShouldBe(["n3", "n4", "n5"]);
        var stats = await _log.StatsAsync();
        (stats.Count, stats.FirstSequence, stats.LastSequence).ShouldBe((3L, 3L, 5L));
        stats.RetentionMaxAge.ShouldBe(TimeSpan.FromHours(1));
        (await _log.GetAsync(1)).ShouldBeNull();
        (await _log.AppendAsync([Event("n6")])).ShouldBe([6L]);
    }

    [Fact]
    public async Task A_stopped_server_refuses_appends_with_unavailable_and_a_restart_recovers_without_loss()
    {
        await using var server = await NatsServer.StartAsync();
        await using var log = await Open(server);
        (await log.AppendAsync([Event("before-1"), Event("before-2")])).ShouldBe([1L, 2L]);
        log.AcceptsWrites.ShouldBeTrue();

        await server.StopAsync();
        await Eventually.Get(() => Task.FromResult(log.AcceptsWrites ? null : "refusing"), "AcceptsWrites to turn false", TimeSpan.FromSeconds(30));
        var refused = await Should.ThrowAsync<EventLogUnavailableException>(() => log.AppendAsync([Event("during")]));
        refused.Message.ShouldContain("unreachable");

        await server.StartAgainAsync();
        await Eventually.Get(() => Task.FromResult(log.AcceptsWrites ? "accepting" : null), "AcceptsWrites to turn true again", TimeSpan.FromSeconds(60));
        var after = await Eventually.Get(async () =>
        {
            try { return await log.AppendAsync([Event("after")]); }
            catch (EventLogUnavailableException) { return null; } // JetStream may still be recovering its streams
        }, "an append after the restart", TimeSpan.FromSeconds(60));
        after.ShouldBe([3L]);
        (await log.ReadAsync(0, 10)).Select(e => e.Event.Id).ShouldBe(["before-1", "before-2", "after"]);
        // A reader waiting before the outage still wakes for what arrives after it.
        await log.WaitForAsync(2).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_reader_wakes_for_events_another_process_appended()
    {
        await using var other = await OpenAsync();
        var wait = _log.WaitForAsync(0);
        (await other.AppendAsync([Event("elsewhere")])).ShouldBe([1L]);
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
        (await _log.ReadAsync(0, 10)).Single().Event.Id.ShouldBe("elsewhere");
    }

    [Fact]
    public async Task A_failure_behind_a_live_connection_refuses_writes_for_a_while_then_lets_readiness_probe_again()
    {
        (await _log.AppendAsync([Event("a")])).ShouldBe([1L]);
        // The stream disappears (an operator deleted it): the connection stays up, JetStream has no one to answer.
        await using (var nc = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = nats.Server.Url }))
            await new NATS.Client.JetStream.NatsJSContext(nc).DeleteStreamAsync(_stream);
        var e = await Should.ThrowAsync<EventLogUnavailableException>(() => _log.AppendAsync([Event("b")]));
        e.Message.ShouldContain("did not acknowledge");
        _log.AcceptsWrites.ShouldBeFalse();
        _time.Advance(JetStreamEventLog.FailureHold);
        _log.AcceptsWrites.ShouldBeTrue(); // the next append decides again; nothing recreates the stream behind the operator's back
        await Should.ThrowAsync<EventLogUnavailableException>(() => _log.AppendAsync([Event("b")]));
    }

    [Fact]
    public async Task Two_processes_appending_to_one_stream_get_distinct_sequences_and_read_the_same_log()
    {
        await using var other = await OpenAsync();
        var mine = Enumerable.Range(0, 300).Select(i => Task.Run(() => _log.AppendAsync([Event($"mine-{i}")])));
        var theirs = Enumerable.Range(0, 300).Select(i => Task.Run(() => other.AppendAsync([Event($"theirs-{i}")])));
        var seqs = (await Task.WhenAll(mine.Concat(theirs))).SelectMany(s => s).ToList();
        seqs.Distinct().Count().ShouldBe(600);
        seqs.Max().ShouldBe(600L);

        foreach (var log in new IEventLog[] { _log, other })
        {
            await log.WaitForAsync(599).WaitAsync(TimeSpan.FromSeconds(30));
            var read = new List<LoggedEvent>();
            while (read.Count < 600 && await log.ReadAsync(read.Count == 0 ? 0 : read[^1].Sequence, 256) is { Count: > 0 } page) read.AddRange(page);
            read.Select(e => e.Sequence).ShouldBe(Enumerable.Range(1, 600).Select(i => (long)i));
            read.Select(e => e.Event.Id).Distinct().Count().ShouldBe(600);
        }
    }
}
