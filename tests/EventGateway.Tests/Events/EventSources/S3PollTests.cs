using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.EventSources;
using EventGateway.Events.EventSources.S3;
using EventGateway.Events.Log;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The minio/s3 sources polling a real s3rver on loopback; the poll interval runs on a fake clock.</summary>
public sealed class S3PollTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private static string Yaml(S3Server s3, string type = "minio", string events = "[s3:ObjectCreated:Put]", string extra = "",
        string annotations = "", string accessKey = S3Server.AccessKey) => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: s3-creds}
        stringData: {accesskey: {{accessKey}}, secretkey: {{S3Server.SecretKey}}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata:
          name: bucket-src
          annotations:
            eventgateway.io/s3-poll-interval: 10s
        {{annotations}}
        spec:
          {{type}}:
            upload:
              endpoint: {{s3.Endpoint}}
              insecure: true
              bucket:
                name: input
              events: {{events}}
              accessKey: {name: s3-creds, key: accesskey}
              secretKey: {name: s3-creds, key: secretkey}
              metadata:
                team: data
        {{extra}}
        """;

    /// <summary>Advances the fake clock one interval per probe until the log holds <paramref name="count"/> events.</summary>
    private static async Task<IReadOnlyList<LoggedEvent>> PollUntil(EventTestHost host, FakeTimeProvider time, int count) =>
        await Eventually.Get(async () =>
        {
            var events = await host.Log.QueryAsync(new EventQuery(Source: "bucket-src", Limit: 1000));
            return events.Count >= count ? events.Reverse().ToList() : null;
        }, $"{count} events from bucket-src", TimeSpan.FromSeconds(30), eachPoll: () => time.Advance(Interval));

    private static JsonNode Record(LoggedEvent e) => JsonNode.Parse(e.Event.Data.Span)!["notification"]![0]!;

    private static string Key(LoggedEvent e) => (string)Record(e)["s3"]!["object"]!["key"]!;

    private static string Md5(string content) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(content)));

    private static FakeTimeProvider Clock() => new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(10_000, "10s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(1_500, "1.5s")]
    [InlineData(500, "500ms")]
    public void Intervals_are_written_as_Go_durations(int ms, string text) =>
        S3Delivery.FormatDuration(TimeSpan.FromMilliseconds(ms)).ShouldBe(text);

    [Fact]
    public async Task New_objects_become_events_with_exact_S3_records_and_existing_ones_are_not_announced()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        await s3.PutAsync("input", "old.txt", "was here before");
        await using var host = await EventTestHost.StartAsync(time);
        await host.ApplyAsync(Yaml(s3, extra: "      filter: {}"));
        host.Sources.StatusOf("default", "bucket-src")!.Value.Listeners.Single().Target.ShouldBe($"minio://{s3.Endpoint}/input/ (poll every 10s)");
        (await host.Log.QueryAsync(new EventQuery(Source: "bucket-src"))).ShouldBeEmpty();

        var etagA = await s3.PutAsync("input", "a.txt", "hello");
        var etagB = await s3.PutAsync("input", "dir/b c.json", "{\"x\":1}");
        var events = await PollUntil(host, time, 2);
        events.Count.ShouldBe(2);
        events.Select(Key).Order().ShouldBe(["a.txt", "dir%2Fb+c.json"]); // MinIO query-escapes keys

        var a = events.Single(e => Key(e) == "a.txt");
        a.Event.Type.ShouldBe("minio");
        a.Event.Source.ShouldBe("bucket-src");
        a.Event.Subject.ShouldBe("upload");
        var head = await s3.Client.GetObjectMetadataAsync("input", "a.txt");
        var modified = new DateTimeOffset(head.LastModified!.Value.ToUniversalTime(), TimeSpan.Zero);
        var sequencer = modified.ToUnixTimeMilliseconds().ToString("X16", System.Globalization.CultureInfo.InvariantCulture);
        a.Event.Id.ShouldBe(S3Records.EventId("input", "a.txt", Md5("hello"), sequencer));
        a.Event.Time.ShouldBe(DateTimeOffset.FromUnixTimeMilliseconds(modified.ToUnixTimeMilliseconds()));

        var data = JsonNode.Parse(a.Event.Data.Span)!.AsObject();
        data.Select(p => p.Key).ShouldBe(["notification", "metadata"]);
        data["metadata"]!.ToJsonString().ShouldBe("""{"team":"data"}""");
        data["notification"]!.AsArray().Count.ShouldBe(1);
        var r = Record(a).AsObject();
        r.Select(p => p.Key).ShouldBe(["eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
            "requestParameters", "responseElements", "s3", "source"]);
        ((string)r["eventSource"]!).ShouldBe("minio:s3");
        ((string)r["eventName"]!).ShouldBe("s3:ObjectCreated:Put");
        ((string)r["awsRegion"]!).ShouldBe("us-east-1");
        ((string)r["eventTime"]!).ShouldBe(modified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        var s = r["s3"]!;
        ((string)s["s3SchemaVersion"]!).ShouldBe("1.0");
        ((string)s["bucket"]!["name"]!).ShouldBe("input");
        ((string)s["bucket"]!["arn"]!).ShouldBe("arn:aws:s3:::input");
        s["object"]!.ToJsonString().ShouldBe($$"""{"key":"a.txt","size":5,"eTag":"{{Md5("hello")}}","sequencer":"{{sequencer}}"}""");
        etagA.ShouldBe(Md5("hello"));

        var b = Record(events.Single(e => Key(e) != "a.txt"));
        ((long)b["s3"]!["object"]!["size"]!).ShouldBe(7);
        ((string)b["s3"]!["object"]!["eTag"]!).ShouldBe(etagB);
    }

    [Fact]
    public async Task Prefix_and_suffix_select_the_keys()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        await using var host = await EventTestHost.StartAsync(time);
        await host.ApplyAsync(Yaml(s3, extra: "      filter: {prefix: in/, suffix: .csv}"));

        await s3.PutAsync("input", "in/a.csv", "1");
        await s3.PutAsync("input", "in/b.txt", "2");
        await s3.PutAsync("input", "out/c.csv", "3");
        await s3.PutAsync("input", "in.csv", "4");
        var events = await PollUntil(host, time, 1);
        await s3.PutAsync("input", "in/z.csv", "sentinel");
        events = await PollUntil(host, time, 2);

        events.Select(Key).ShouldBe(["in%2Fa.csv", "in%2Fz.csv"]);
    }

    [Fact]
    public async Task Overwrite_is_a_new_event_with_a_new_id_and_removal_is_reported_in_the_AWS_shape()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        await using var host = await EventTestHost.StartAsync(time);
        await host.ApplyAsync(Yaml(s3, type: "s3", events: "[s3:ObjectCreated:*, s3:ObjectRemoved:*]", extra: "      region: eu-west-1"));

        await s3.PutAsync("input", "data/report.csv", "v1");
        var first = (await PollUntil(host, time, 1))[0];
        await s3.PutAsync("input", "data/report.csv", "version 2");
        var second = (await PollUntil(host, time, 2))[1];
        await s3.DeleteAsync("input", "data/report.csv");
        var removed = (await PollUntil(host, time, 3))[2];

        first.Event.Type.ShouldBe("s3");
        Key(first).ShouldBe("data/report.csv"); // AWS keeps '/' in encoded keys
        ((string)Record(first)["eventSource"]!).ShouldBe("aws:s3");
        ((string)Record(first)["eventName"]!).ShouldBe("ObjectCreated:Put");
        ((string)Record(first)["awsRegion"]!).ShouldBe("eu-west-1");
        Record(first).AsObject().ContainsKey("source").ShouldBeFalse();
        ((string)Record(first)["s3"]!["object"]!["eTag"]!).ShouldBe(Md5("v1"));

        ((string)Record(second)["eventName"]!).ShouldBe("ObjectCreated:Put");
        ((string)Record(second)["s3"]!["object"]!["eTag"]!).ShouldBe(Md5("version 2"));
        ((long)Record(second)["s3"]!["object"]!["size"]!).ShouldBe(9);
        second.Event.Id.ShouldNotBe(first.Event.Id);

        ((string)Record(removed)["eventName"]!).ShouldBe("ObjectRemoved:Delete");
        var obj = Record(removed)["s3"]!["object"]!.AsObject();
        obj.Select(p => p.Key).ShouldBe(["key", "sequencer"]);
        ((string)obj["key"]!).ShouldBe("data/report.csv");
        removed.Event.Id.ShouldNotBe(second.Event.Id);
        // A removal has no time of its own in a listing: it is the poll's time, which the sequencer carries too.
        S3Records.Sequencer(removed.Event.Time).ShouldBe((string)obj["sequencer"]!);
        removed.Event.Time.ShouldBeInRange(Clock().GetUtcNow(), time.GetUtcNow());
    }

    [Fact]
    public async Task A_restart_announces_objects_added_while_down_exactly_once_and_replays_nothing()
    {
        await using var s3 = await S3Server.StartAsync("input");
        string dataDir;
        var time = Clock();
        await using (var host = await EventTestHost.StartAsync(time))
        {
            dataDir = host.KeepDataDir();
            await host.ApplyAsync(Yaml(s3));
            await s3.PutAsync("input", "1.txt", "one");
            (await PollUntil(host, time, 1)).Select(Key).ShouldBe(["1.txt"]);
        }

        await s3.PutAsync("input", "2.txt", "two");
        await s3.PutAsync("input", "3.txt", "three");

        var later = Clock();
        later.Advance(TimeSpan.FromHours(1));
        await using (var host = await EventTestHost.StartAsync(later, dataDir, deleteDataDir: true))
        {
            await host.WaitListeningAsync("default", "bucket-src");
            (await PollUntil(host, later, 3)).Select(Key).ShouldBe(["1.txt", "2.txt", "3.txt"]);
            await s3.PutAsync("input", "4.txt", "sentinel");
            var events = await PollUntil(host, later, 4);
            events.Select(Key).ShouldBe(["1.txt", "2.txt", "3.txt", "4.txt"]);
            events.Select(e => e.Event.Id).Distinct().Count().ShouldBe(4);
        }
    }

    [Fact]
    public async Task A_server_that_goes_away_fails_the_listener_with_the_reason_and_polling_resumes_when_it_is_back()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        await using var host = await EventTestHost.StartAsync(time);
        await host.ApplyAsync(Yaml(s3));

        await s3.StopAsync();
        var failed = await Eventually.Get(() => Task.FromResult(host.Sources.StatusOf("default", "bucket-src")!.Value.Listeners.SingleOrDefault(l => l.State == ListenerState.Failed)),
            "listener failed", TimeSpan.FromSeconds(60), eachPoll: () => time.Advance(Interval));
        failed.Message.ShouldNotBeNull();
        failed.Message.ShouldStartWith($"poll of minio://{s3.Endpoint}/input/ (poll every 10s) failed: Connection refused ({s3.Endpoint})");
        failed.Message.ShouldEndWith("; retrying every 10s");

        await s3.StartAgainAsync();
        await s3.PutAsync("input", "back.txt", "again");
        (await PollUntil(host, time, 1)).Select(Key).ShouldBe(["back.txt"]);
        host.Sources.StatusOf("default", "bucket-src")!.Value.Listeners.Single().State.ShouldBe(ListenerState.Listening);
    }

    [Fact]
    public async Task An_unknown_access_key_fails_the_listener_with_the_servers_answer()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        await using var host = await EventTestHost.StartAsync(time);
        // s3rver checks the access key but not v4 signatures: an unknown key is the bad credential it refuses.
        await host.Store.ApplyAllAsync(EventGateway.Server.Hosting.ManifestReader.Read(Yaml(s3, accessKey: "NOT-A-KEY")));

        var status = (await host.WaitListeningAsync("default", "bucket-src", allowFailed: true)).Single();
        status.State.ShouldBe(ListenerState.Failed);
        status.Message!.ShouldContain("failed: 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.");
        (await host.Log.QueryAsync(new EventQuery(Source: "bucket-src"))).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_missing_secret_key_fails_the_listener_naming_it()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        await using var host = await EventTestHost.StartAsync(time);
        var yaml = Yaml(s3).Replace("{name: s3-creds, key: secretkey}", "{name: s3-creds, key: nope}", StringComparison.Ordinal);
        await host.Store.ApplyAllAsync(EventGateway.Server.Hosting.ManifestReader.Read(yaml));

        var status = (await host.WaitListeningAsync("default", "bucket-src", allowFailed: true)).Single();
        status.State.ShouldBe(ListenerState.Failed);
        status.Message!.ShouldContain("failed: secretKey: secret default/s3-creds has no key 'nope'");
    }

    [Fact]
    public async Task More_objects_than_the_bound_fail_the_poll_and_change_nothing()
    {
        var time = Clock();
        await using var s3 = await S3Server.StartAsync("input");
        foreach (var k in new[] { "a", "b", "c" }) await s3.PutAsync("input", k, k);
        await using var host = await EventTestHost.StartAsync(time);
        await host.Store.ApplyAllAsync(EventGateway.Server.Hosting.ManifestReader.Read(Yaml(s3, annotations: "    eventgateway.io/s3-poll-max-objects: \"2\"")));

        var status = (await host.WaitListeningAsync("default", "bucket-src", allowFailed: true)).Single();
        status.State.ShouldBe(ListenerState.Failed);
        status.Message!.ShouldContain("failed: more than 2 objects under input/, the most a poll tracks (annotation eventgateway.io/s3-poll-max-objects)");
        (await host.Log.GetSourceStateAsync("default/bucket-src/upload/poll")).ShouldBeNull();
    }
}
