using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Events.EventSources.Github;
using EventGateway.Model;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The github source's endpoint on a real Kestrel listener: signatures, payload forms, refusals, and what reaches the log.</summary>
public sealed class GithubListenerTests : IAsyncLifetime
{
    private const string Secret = "It's a Secret to Everybody";
    private readonly int _port = EventTestHost.FreePort();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private EventTestHost _host = null!;

    private string Url(string path = "/github") => $"http://127.0.0.1:{_port}{path}";

    private string Manifest(string extra = "", string annotations = "{}", string secret = Secret) => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: github-access, namespace: ci}
        stringData: {secret: "{{secret}}"}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: gh, namespace: ci, annotations: {{annotations}}}
        spec:
          github:
            repo-events:
              repositories:
                - owner: acme
                  names: [api]
              webhook:
                endpoint: /github
                port: "{{_port}}"
                method: POST
              events: [push]
              webhookSecret: {name: github-access, key: secret}
              metadata: {team: platform}
        {{extra}}
        """;

    public async Task InitializeAsync() => _host = await EventTestHost.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private async Task<long> Count() => (await _host.Log.StatsAsync()).Count;

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private async Task<(HttpStatusCode Status, string Body)> Deliver(byte[] body, string? signature, string delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        string contentType = "application/json", string gitHubEvent = "push", string? sha1 = null, HttpMethod? method = null, string path = "/github", HttpClient? client = null, string? url = null)
    {
        using var req = new HttpRequestMessage(method ?? HttpMethod.Post, url ?? Url(path)) { Content = new ByteArrayContent(body) };
        req.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        req.Headers.Add("X-GitHub-Event", gitHubEvent);
        if (delivery.Length > 0) req.Headers.Add("X-GitHub-Delivery", delivery);
        req.Headers.Add("User-Agent", "GitHub-Hookshot/044aadd");
        if (signature is not null) req.Headers.Add("X-Hub-Signature-256", signature);
        if (sha1 is not null) req.Headers.Add("X-Hub-Signature", sha1);
        using var resp = await (client ?? _http).SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    private static string Sha1(string secret, byte[] body) => "sha1=" + Convert.ToHexStringLower(HMACSHA1.HashData(Utf8(secret), body));

    [Fact]
    public async Task A_signed_push_is_published_in_Argos_github_shape_with_the_delivery_as_id()
    {
        await _host.ApplyAsync(Manifest());
        var body = Utf8("""{"ref":"refs/heads/main","after":"abc123","repository":{"full_name":"acme/api"}}""");
        var (status, reply) = await Deliver(body, GithubSignature.Sign(Secret, body));
        status.ShouldBe(HttpStatusCode.OK, reply);
        reply.ShouldBe("success\n");

        // Acknowledged means durable: readable the moment the answer arrived.
        var e = (await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem();
        e.Namespace.ShouldBe("ci");
        e.Event.Id.ShouldBe("72d3162e-cc78-11e3-81ab-4c9367dc0958");
        e.Event.Source.ShouldBe("gh");
        e.Event.Subject.ShouldBe("repo-events");
        e.Event.Type.ShouldBe("github");
        var data = JsonNode.Parse(e.Event.Data.Span)!.AsObject();
        data.Select(kv => kv.Key).ShouldBe(["headers", "body", "metadata"]);
        // Argo copies the event and delivery headers into the body.
        data["body"]!.ToJsonString().ShouldBe(
            """{"ref":"refs/heads/main","after":"abc123","repository":{"full_name":"acme/api"},"X-GitHub-Event":"push","X-GitHub-Delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958"}""");
        data["metadata"]!.ToJsonString().ShouldBe("""{"team":"platform"}""");
        var headers = data["headers"]!.AsObject();
        headers["X-Github-Event"]!.ToJsonString().ShouldBe("""["push"]""");
        headers["X-Github-Delivery"]!.ToJsonString().ShouldBe("""["72d3162e-cc78-11e3-81ab-4c9367dc0958"]""");
        headers["X-Hub-Signature-256"]!.ToJsonString().ShouldBe($"""["{GithubSignature.Sign(Secret, body)}"]""");
        headers["Content-Type"]!.ToJsonString().ShouldBe("""["application/json"]""");
    }

    [Fact]
    public async Task The_same_delivery_twice_is_logged_twice_under_one_id()
    {
        await _host.ApplyAsync(Manifest());
        var body = Utf8("""{"zen":"Keep it logically awesome."}""");
        (await Deliver(body, GithubSignature.Sign(Secret, body), delivery: "d-1")).Status.ShouldBe(HttpStatusCode.OK);
        (await Deliver(body, GithubSignature.Sign(Secret, body), delivery: "d-1")).Status.ShouldBe(HttpStatusCode.OK);
        // Redelivery is recognisable by its id; dropping the duplicate is the Sensor's decision.
        var events = await _host.Log.ReadAsync(0, 10);
        events.Select(x => x.Event.Id).ShouldBe(["d-1", "d-1"]);
    }

    [Fact]
    public async Task A_delivery_without_id_gets_a_fresh_time_ordered_uuid()
    {
        await _host.ApplyAsync(Manifest());
        var body = Utf8("{}");
        (await Deliver(body, GithubSignature.Sign(Secret, body), delivery: "")).Status.ShouldBe(HttpStatusCode.OK);
        var e = (await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem();
        Guid.Parse(e.Event.Id).Version.ShouldBe(7);
        JsonNode.Parse(e.Event.Data.Span)!["body"]!["X-GitHub-Delivery"]!.GetValue<string>().ShouldBe("");
    }

    [Theory]
    [InlineData("missing", "missing X-Hub-Signature-256: deliveries must be signed with the webhookSecret\n")]
    [InlineData("wrong-secret", "X-Hub-Signature-256 does not match the body (wrong webhookSecret or altered body)\n")]
    [InlineData("altered-body", "X-Hub-Signature-256 does not match the body (wrong webhookSecret or altered body)\n")]
    [InlineData("not-hex", "X-Hub-Signature-256 does not match the body (wrong webhookSecret or altered body)\n")]
    [InlineData("sha1-without-annotation", "only X-Hub-Signature (SHA-1) was sent; SHA-1 signatures are refused unless the EventSource has annotation eventgateway.io/github-allow-sha1: \"true\"\n")]
    public async Task Unsigned_or_badly_signed_deliveries_get_401_and_change_nothing(string @case, string reason)
    {
        await _host.ApplyAsync(Manifest());
        var body = Utf8("""{"ref":"refs/heads/main"}""");
        var (status, reply) = @case switch
        {
            "missing" => await Deliver(body, null),
            "wrong-secret" => await Deliver(body, GithubSignature.Sign("not the secret", body)),
            "altered-body" => await Deliver(Utf8("""{"ref":"refs/heads/evil"}"""), GithubSignature.Sign(Secret, body)),
            "not-hex" => await Deliver(body, "sha256=" + new string('z', 64)),
            _ => await Deliver(body, null, sha1: Sha1(Secret, body)),
        };
        status.ShouldBe(HttpStatusCode.Unauthorized);
        reply.ShouldBe(reason);
        (await Count()).ShouldBe(0);
        _host.Sources.StatusOf("ci", "gh")!.Value.Listeners[0].Rejected["401"].ShouldBe(1);
    }

    [Fact]
    public async Task A_sha1_signature_is_accepted_only_with_the_annotation_and_must_still_match()
    {
        await _host.ApplyAsync(Manifest(annotations: "{eventgateway.io/github-allow-sha1: \"true\"}"));
        var body = Utf8("""{"action":"opened"}""");
        (await Deliver(body, null, sha1: Sha1(Secret, body), delivery: "old-1")).Status.ShouldBe(HttpStatusCode.OK);
        (await Deliver(body, null, sha1: Sha1("wrong", body), delivery: "old-2")).ShouldBe(
            (HttpStatusCode.Unauthorized, "X-Hub-Signature does not match the body (wrong webhookSecret or altered body)\n"));
        (await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem().Event.Id.ShouldBe("old-1");
    }

    [Fact]
    public async Task A_form_delivery_is_verified_over_the_raw_form_and_published_as_its_json_payload()
    {
        await _host.ApplyAsync(Manifest());
        var json = """{"ref":"refs/heads/main","head_commit":{"message":"a+b & c"}}""";
        var form = Utf8("payload=" + Uri.EscapeDataString(json));
        var (status, reply) = await Deliver(form, GithubSignature.Sign(Secret, form), contentType: "application/x-www-form-urlencoded");
        status.ShouldBe(HttpStatusCode.OK, reply);
        var data = JsonNode.Parse((await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem().Event.Data.Span)!;
        data["body"]!["head_commit"]!["message"]!.GetValue<string>().ShouldBe("a+b & c");
        data["body"]!["ref"]!.GetValue<string>().ShouldBe("refs/heads/main");
        data["body"]!["X-GitHub-Event"]!.GetValue<string>().ShouldBe("push");
    }

    [Theory]
    [InlineData("not-json", HttpStatusCode.BadRequest, "body is not JSON")]
    [InlineData("json-array", HttpStatusCode.BadRequest, "body is a JSON array; a GitHub payload is an object\n")]
    [InlineData("form-without-payload", HttpStatusCode.BadRequest, "form body has no 'payload' field; GitHub form deliveries carry the JSON in it\n")]
    [InlineData("xml", HttpStatusCode.UnsupportedMediaType, "Content-Type 'application/xml' is not one GitHub sends; expected application/json or application/x-www-form-urlencoded\n")]
    [InlineData("too-large", HttpStatusCode.RequestEntityTooLarge, "body of 2049 bytes is over the limit of 2048 bytes\n")]
    [InlineData("wrong-method", HttpStatusCode.MethodNotAllowed, "method PUT is not allowed on /github; use POST\n")]
    [InlineData("bad-delivery-id", HttpStatusCode.BadRequest, "X-GitHub-Delivery is not a delivery id")]
    public async Task Bad_requests_get_a_clear_refusal_and_change_nothing(string @case, HttpStatusCode expected, string reason)
    {
        await _host.ApplyAsync(Manifest().Replace("method: POST", "method: POST\n        maxPayloadSize: 2048"));
        Task<(HttpStatusCode, string)> Signed(string text, string contentType = "application/json", HttpMethod? method = null, string delivery = "d-1")
        {
            var body = Utf8(text);
            return Deliver(body, GithubSignature.Sign(Secret, body), contentType: contentType, method: method, delivery: delivery);
        }
        var (status, reply) = @case switch
        {
            "not-json" => await Signed("ref=main"),
            "json-array" => await Signed("[1,2]"),
            "form-without-payload" => await Signed("other=1", "application/x-www-form-urlencoded"),
            "xml" => await Signed("<push/>", "application/xml"),
            "too-large" => await Signed("{\"pad\":\"" + new string('x', 2049 - 10) + "\"}"),
            "wrong-method" => await Signed("{}", method: HttpMethod.Put),
            _ => await Signed("{}", delivery: new string('x', 200)),
        };
        status.ShouldBe(expected);
        reply.ShouldStartWith(reason);
        (await Count()).ShouldBe(0);
    }

    [Fact]
    public async Task A_rotated_webhook_secret_takes_effect_without_a_restart()
    {
        await _host.ApplyAsync(Manifest());
        var body = Utf8("""{"n":1}""");
        (await Deliver(body, GithubSignature.Sign(Secret, body), delivery: "before")).Status.ShouldBe(HttpStatusCode.OK);
        var listener = _host.Sources.StatusOf("ci", "gh")!.Value.Listeners[0];

        await _host.ApplyAsync("""
            apiVersion: v1
            kind: Secret
            metadata: {name: github-access, namespace: ci}
            stringData: {secret: rotated}
            """);
        await Eventually.Get(async () => (await Deliver(body, GithubSignature.Sign(Secret, body), delivery: "old")).Status == HttpStatusCode.Unauthorized ? "" : null,
            "the old secret refused");
        (await Deliver(body, GithubSignature.Sign("rotated", body), delivery: "after")).Status.ShouldBe(HttpStatusCode.OK);

        (await _host.Log.ReadAsync(0, 10)).Select(e => e.Event.Id).ShouldBe(["before", "after"]);
        // Same listener throughout: nothing was restarted.
        _host.Sources.StatusOf("ci", "gh")!.Value.Listeners[0].ShouldBeSameAs(listener);
        listener.Restarts.ShouldBe(0);
    }

    [Fact]
    public async Task A_missing_webhook_secret_refuses_with_503_until_it_exists()
    {
        await _host.ApplyAsync(Manifest().Replace("webhookSecret: {name: github-access, key: secret}", "webhookSecret: {name: github-access, key: nope}"));
        var body = Utf8("{}");
        var (status, reply) = await Deliver(body, GithubSignature.Sign(Secret, body));
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        reply.ShouldBe("webhookSecret ci/github-access key 'nope' is missing; refusing until it exists\n");
        (await Count()).ShouldBe(0);
    }

    [Fact]
    public async Task The_filter_expression_decides_over_headers_and_body()
    {
        await _host.ApplyAsync(Manifest().Replace("metadata: {team: platform}", "metadata: {team: platform}\n      filter: {expression: 'body.ref == \"refs/heads/main\"'}"));
        var main = Utf8("""{"ref":"refs/heads/main"}""");
        var dev = Utf8("""{"ref":"refs/heads/dev"}""");
        (await Deliver(dev, GithubSignature.Sign(Secret, dev), delivery: "dev")).ShouldBe((HttpStatusCode.OK, "event not published: filter: 'body.ref == \"refs/heads/main\"' is false\n"));
        (await Deliver(main, GithubSignature.Sign(Secret, main), delivery: "main")).Status.ShouldBe(HttpStatusCode.OK);
        (await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem().Event.Id.ShouldBe("main");
    }

    [Fact]
    public async Task Tls_from_serverCertSecret_and_serverKeySecret_serves_https()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await _host.Store.ApplyAsync(new Secret
        {
            ApiVersion = "v1", Kind = "Secret", Metadata = new ObjectMeta { Name = "github-tls", Namespace = "ci" },
            StringData = new() { ["crt"] = cert.ExportCertificatePem(), ["key"] = key.ExportPkcs8PrivateKeyPem() },
        });
        await _host.ApplyAsync(Manifest().Replace("method: POST", "method: POST\n        serverCertSecret: {name: github-tls, key: crt}\n        serverKeySecret: {name: github-tls, key: key}"));

        using var trusting = new HttpClient(new HttpClientHandler
        {
            // Trust exactly the certificate made above, nothing else.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == cert.Thumbprint,
        });
        var body = Utf8("""{"ref":"refs/heads/main"}""");
        var (status, reply) = await Deliver(body, GithubSignature.Sign(Secret, body), client: trusting, url: $"https://127.0.0.1:{_port}/github");
        status.ShouldBe(HttpStatusCode.OK, reply);
        (await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem();
        _host.Sources.StatusOf("ci", "gh")!.Value.Listeners[0].Target.ShouldBe($"https://:{_port}/github");
        // Plain HTTP on the TLS port does not get through.
        await Should.ThrowAsync<HttpRequestException>(() => Deliver(body, GithubSignature.Sign(Secret, body)));
    }
}
