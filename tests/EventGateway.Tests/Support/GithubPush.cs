using System.Text;
using EventGateway.Events.EventSources.Github;

namespace EventGateway.Tests.Support;

/// <summary>The GitHub push source several end-to-end tests share: its manifests, and a push signed as GitHub signs it.</summary>
public static class GithubPush
{
    /// <summary>A Secret <c>github-access</c> and an EventSource <c>github</c> taking acme/api pushes on <c>/push</c>.</summary>
    public static string Source(int port, string secret, string? ns = null)
    {
        var meta = ns is null ? "" : $", namespace: {ns}";
        return $$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: github-access{{meta}}}
            stringData: {secret: "{{secret}}"}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: github{{meta}}}
            spec:
              github:
                push:
                  repositories: [{owner: acme, names: [api]}]
                  webhook: {endpoint: /push, port: "{{port}}", method: POST}
                  events: [push]
                  webhookSecret: {name: github-access, key: secret}
            """;
    }

    /// <summary>A push delivery to <paramref name="url"/>, signed with <paramref name="secret"/> (X-Hub-Signature-256).</summary>
    public static HttpRequestMessage Request(string url, string secret, string delivery, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var req = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        req.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        req.Headers.Add("X-GitHub-Event", "push");
        req.Headers.Add("X-GitHub-Delivery", delivery);
        req.Headers.Add("X-Hub-Signature-256", GithubSignature.Sign(secret, body));
        return req;
    }
}
