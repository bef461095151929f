using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Events.EventSources.S3;
using EventGateway.Events.Log;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The minio/s3 sources receiving S3 event notifications over HTTP (MinIO webhook and AWS SNS formats).</summary>
public sealed class S3NotificationTests
{
    private static string Yaml(int port, string type = "minio", string annotations = "") => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: hook-secret}
        stringData: {token: s3cr3t}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata:
          name: notify-src
          annotations:
            eventgateway.io/s3-notification-port: "{{port}}"
        {{annotations}}
        spec:
          {{type}}:
            upload:
              endpoint: minio.example.com:9000
              bucket: {name: input}
              events: [s3:ObjectCreated:*]
              filter: {prefix: in/, suffix: .csv}
              metadata: {team: data}
        """;

    private static JsonObject MinioRecord(string bucket, string key, string eventName = "s3:ObjectCreated:Put") => JsonNode.Parse($$$"""
        {"eventVersion":"2.0","eventSource":"minio:s3","awsRegion":"","eventTime":"2025-03-04T05:06:07.089Z","eventName":"{{{eventName}}}",
         "userIdentity":{"principalId":"minio"},"requestParameters":{"principalId":"minio","region":"","sourceIPAddress":"10.0.0.9"},
         "responseElements":{"x-amz-request-id":"17E2A","x-minio-origin-endpoint":"http://10.0.0.2:9000"},
         "s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":"{{{bucket}}}","ownerIdentity":{"principalId":"minio"},"arn":"arn:aws:s3:::{{{bucket}}}"},
               "object":{"key":"{{{key}}}","size":12,"eTag":"5d41402abc4b2a76b9719d911017c592","contentType":"text/csv","userMetadata":{"content-type":"text/csv"},"sequencer":"17E2A1B2C3D4E5F6"}},
         "source":{"host":"10.0.0.9","port":"","userAgent":"MinIO (linux; amd64) minio-go/v7.0.70"}}
        """)!.AsObject();

    private static async Task<HttpResponseMessage> Post(int port, string body, string path = "/upload", string? token = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}{path}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    private static async Task<IReadOnlyList<LoggedEvent>> Events(EventTestHost host) =>
        (await host.Log.QueryAsync(new EventQuery(Source: "notify-src", Limit: 100))).Reverse().ToList();

    [Fact]
    public async Task A_MinIO_webhook_body_becomes_one_event_per_matching_record_kept_as_sent()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Yaml(port));

        var match = MinioRecord("input", "in%2Fa.csv");
        var body = new JsonObject
        {
            ["EventName"] = "s3:ObjectCreated:Put",
            ["Key"] = "input/in/a.csv",
            ["Records"] = new JsonArray(match.DeepClone(), MinioRecord("other", "in%2Fa.csv"), MinioRecord("input", "in%2Fb.txt"),
                MinioRecord("input", "in%2Fc.csv", "s3:ObjectRemoved:Delete")),
        }.ToJsonString();

        using (var response = await Post(port, body))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await response.Content.ReadAsStringAsync()).ShouldBe("success\n");
        }
        using (var again = await Post(port, body)) again.StatusCode.ShouldBe(HttpStatusCode.OK);

        var events = await Events(host);
        events.Count.ShouldBe(2);
        var e = events[0].Event;
        e.Type.ShouldBe("minio");
        e.Subject.ShouldBe("upload");
        e.Id.ShouldBe(S3Records.EventId("input", "in/a.csv", "5d41402abc4b2a76b9719d911017c592", "17E2A1B2C3D4E5F6"));
        events[1].Event.Id.ShouldBe(e.Id); // a redelivery keeps its identity, for the Sensor's dedup
        e.Time.ShouldBe(new DateTimeOffset(2025, 3, 4, 5, 6, 7, 89, TimeSpan.Zero));
        var data = JsonNode.Parse(e.Data.Span)!;
        JsonNode.DeepEquals(data, new JsonObject { ["notification"] = new JsonArray(match), ["metadata"] = new JsonObject { ["team"] = "data" } })
            .ShouldBeTrue(data.ToJsonString());
    }

    [Fact]
    public async Task An_SNS_notification_publishes_the_records_of_its_message()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Yaml(port, type: "s3"));

        var record = MinioRecord("input", "in/a+b.csv", "ObjectCreated:CompleteMultipartUpload");
        record["eventSource"] = "aws:s3";
        var message = new JsonObject { ["Records"] = new JsonArray(record.DeepClone()) }.ToJsonString();
        var sns = new JsonObject
        {
            ["Type"] = "Notification", ["MessageId"] = "0b6e2c1c-1", ["TopicArn"] = "arn:aws:sns:us-east-1:123456789012:uploads",
            ["Subject"] = "Amazon S3 Notification", ["Message"] = message, ["Timestamp"] = "2025-03-04T05:06:08.000Z",
        }.ToJsonString();

        using var response = await Post(port, sns);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);

        var e = (await Events(host)).ShouldHaveSingleItem().Event;
        e.Type.ShouldBe("s3");
        e.Id.ShouldBe(S3Records.EventId("input", "in/a b.csv", "5d41402abc4b2a76b9719d911017c592", "17E2A1B2C3D4E5F6"));
        var data = JsonNode.Parse(e.Data.Span)!;
        JsonNode.DeepEquals(data["notification"]![0], record).ShouldBeTrue();
        ((string)data["notification"]![0]!["s3"]!["object"]!["key"]!).ShouldBe("in/a+b.csv");
    }

    [Fact]
    public async Task An_SNS_subscription_confirmation_fetches_its_SubscribeURL_and_publishes_nothing()
    {
        var port = EventTestHost.FreePort();
        var snsPort = EventTestHost.FreePort();
        using var sns = new HttpListener();
        sns.Prefixes.Add($"http://127.0.0.1:{snsPort}/");
        sns.Start();
        var confirmed = Task.Run(async () =>
        {
            var c = await sns.GetContextAsync();
            var url = c.Request.Url!.PathAndQuery;
            c.Response.StatusCode = 200;
            c.Response.Close();
            return (c.Request.HttpMethod, url);
        });
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Yaml(port, type: "s3"));

        var body = new JsonObject
        {
            ["Type"] = "SubscriptionConfirmation", ["Token"] = "t0k",
            ["SubscribeURL"] = $"http://127.0.0.1:{snsPort}/?Action=ConfirmSubscription&Token=t0k",
        }.ToJsonString();
        using var response = await Post(port, body);

        (await response.Content.ReadAsStringAsync()).ShouldBe("SNS subscription confirmed\n");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await confirmed.WaitAsync(TimeSpan.FromSeconds(10))).ShouldBe(("GET", "/?Action=ConfirmSubscription&Token=t0k"));
        (await Events(host)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Bad_bodies_are_refused_with_the_reason_and_publish_nothing()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Yaml(port));
        using var http = new HttpClient();

        async Task Expect(string body, HttpStatusCode status, string reason)
        {
            using var r = await Post(port, body);
            (await r.Content.ReadAsStringAsync()).ShouldBe(reason + "\n", body.Length > 200 ? body[..200] : body);
            r.StatusCode.ShouldBe(status);
        }

        await Expect("{\"Records\": [", HttpStatusCode.BadRequest,
            "body is not JSON: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. LineNumber: 0 | BytePositionInLine: 13.");
        await Expect("[1]", HttpStatusCode.BadRequest, "body is a JSON array; expected an S3 notification object");
        await Expect("{\"hello\": 1}", HttpStatusCode.BadRequest,
            "expected S3 event records: a MinIO notification {\"EventName\", \"Key\", \"Records\"} or an SNS message {\"Type\", \"Message\"}");
        await Expect("{\"Records\": {}}", HttpStatusCode.BadRequest, "Records is a JSON object; expected an array of S3 event records");
        await Expect("{\"Records\": [{\"eventName\": \"s3:ObjectCreated:Put\", \"s3\": {\"bucket\": {\"name\": \"input\"}, \"object\": {}}}]}",
            HttpStatusCode.BadRequest, "Records[0].s3.object.key is missing");
        await Expect("{\"Type\": \"Notification\", \"Message\": \"not json\"}", HttpStatusCode.BadRequest,
            "SNS Message is not JSON: 'not json' is an invalid JSON literal. Expected the literal 'null'. LineNumber: 0 | BytePositionInLine: 1.");
        await Expect("{\"Type\": \"Notification\", \"Message\": \"{\\\"Service\\\":\\\"Amazon S3\\\",\\\"Event\\\":\\\"s3:TestEvent\\\"}\"}", HttpStatusCode.OK,
            "event not published: the SNS Message has no S3 Records (e.g. s3:TestEvent)");
        await Expect("{\"Type\": \"SubscriptionConfirmation\", \"SubscribeURL\": \"http://169.254.169.254/latest\"}", HttpStatusCode.BadRequest,
            "SubscribeURL http://169.254.169.254/latest is not https; refusing to fetch it");
        await Expect(new JsonObject { ["Records"] = new JsonArray(MinioRecord("input", "out%2Fa.csv")) }.ToJsonString(), HttpStatusCode.OK,
            "event not published: none of the 1 records matches bucket input, events [s3:ObjectCreated:*], prefix 'in/', suffix '.csv'");
        await Expect("{\"Records\": [" + new string(' ', 1024 * 1024) + "]}", HttpStatusCode.RequestEntityTooLarge,
            $"body of {1024 * 1024 + 15} bytes is over the limit of 1048576 bytes");

        using (var get = await http.GetAsync($"http://127.0.0.1:{port}/upload"))
        {
            get.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
            get.Content.Headers.Allow.ShouldBe(["POST"]);
        }
        (await Events(host)).ShouldBeEmpty();
        var rejected = host.Sources.StatusOf("default", "notify-src")!.Value.Listeners.Single().Rejected;
        rejected["400"].ShouldBe(7);
        rejected["filtered"].ShouldBe(1);
    }

    [Fact]
    public async Task A_token_annotation_requires_the_Bearer_token_on_its_own_endpoint()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Yaml(port, annotations: """
                eventgateway.io/s3-notification-endpoint: /minio/events
                eventgateway.io/s3-notification-token: hook-secret/token
            """));
        var body = new JsonObject { ["Records"] = new JsonArray(MinioRecord("input", "in%2Fa.csv")) }.ToJsonString();

        using (var none = await Post(port, body, "/minio/events")) none.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using (var wrong = await Post(port, body, "/minio/events", token: "guess")) wrong.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using (var other = await Post(port, body, "/upload", token: "s3cr3t")) other.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Events(host)).ShouldBeEmpty();

        using (var ok = await Post(port, body, "/minio/events", token: "s3cr3t")) ok.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Events(host)).ShouldHaveSingleItem();
        var status = host.Sources.StatusOf("default", "notify-src")!.Value.Listeners.Single();
        status.Target.ShouldBe($"http://:{port}/minio/events");
        status.Rejected["401"].ShouldBe(2);
    }
}
