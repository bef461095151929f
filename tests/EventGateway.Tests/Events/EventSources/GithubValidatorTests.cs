using Shouldly;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>Load-time errors of the github source: exact field path and reason.</summary>
public sealed class GithubValidatorTests
{
    private const string Webhook = "webhook: {port: \"12000\", endpoint: /push, url: \"https://events.example.com\"}";

    private static IReadOnlyList<string> Errors(string fields)
    {
        var yaml = "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: gh}\nspec:\n  github:\n    ci:\n" +
                   string.Concat(fields.Split('\n').Select(l => "      " + l + "\n"));
        try
        {
            ManifestReader.Read(yaml, "gh.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors.Select(x => $"{x.Path}: {x.Reason}").ToList();
        }
    }

    [Fact]
    public void An_argo_github_source_loads()
    {
        Errors($$"""
            {{Webhook}}
            repositories:
              - owner: argoproj
                names: [argo-events, argo-workflows]
            events: [push, pull_request]
            apiToken: {name: github-access, key: token}
            webhookSecret: {name: github-access, key: secret}
            insecure: false
            active: true
            contentType: json
            deleteHookOnFinish: true
            """).ShouldBeEmpty();
    }

    [Fact]
    public void The_deprecated_owner_and_repository_still_load() =>
        Errors($"{Webhook}\nowner: argoproj\nrepository: argo-events\nevents: [\"*\"]\napiToken: {{name: t, key: token}}").ShouldBeEmpty();

    [Fact]
    public void Receiving_only_needs_no_repositories() => Errors("webhook: {port: \"12000\", endpoint: /push}").ShouldBeEmpty();

    [Theory]
    [InlineData("owner: acme", "spec.github.ci.webhook: missing: webhook settings (port, endpoint, method)")]
    [InlineData("webhook: {endpoint: /push}", "spec.github.ci.webhook.port: missing: the port to listen on")]
    [InlineData("W\ncontentType: xml", "spec.github.ci.contentType: 'xml' is not a content type GitHub sends; expected json or form")]
    [InlineData("W\napiToken: {name: t, key: token}\nevents: [push]",
        "spec.github.ci.repositories: apiToken is set to register hooks, but there is nowhere to register them: give repositories or organizations")]
    [InlineData("W\napiToken: {name: t, key: token}\norganizations: [acme]",
        "spec.github.ci.events: missing: events must be listed to create a GitHub hook (e.g. [push], or [\"*\"] for all)")]
    [InlineData("W\napiToken: {name: t, key: token}\norganizations: [acme]\nevents: []",
        "spec.github.ci.events: missing: events must be listed to create a GitHub hook (e.g. [push], or [\"*\"] for all)")]
    [InlineData("W\nevents: [push, pull_requests]", "spec.github.ci.events[1]: 'pull_requests' is not a GitHub webhook event (did you mean 'pull_request'?)")]
    [InlineData("W\nevents: [deploy-everything]", "spec.github.ci.events[0]: 'deploy-everything' is not a GitHub webhook event; names are GitHub's")]
    [InlineData("W\nrepositories: [{names: [api]}]", "spec.github.ci.repositories[0].owner: missing: the user or organization owning the repositories")]
    [InlineData("W\nrepositories: [{owner: acme}]", "spec.github.ci.repositories[0].names: missing: at least one repository name")]
    [InlineData("W\nowner: acme", "spec.github.ci.repository: the deprecated owner and repository go together; prefer repositories: [{owner, names}]")]
    [InlineData("W\ngithubBaseURL: https://ghe.example.com/api/v3/", "spec.github.ci.githubUploadURL: githubUploadURL is required when githubBaseURL is set")]
    [InlineData("W\ngithubBaseURL: ghe\ngithubUploadURL: https://ghe.example.com/api/uploads/", "spec.github.ci.githubBaseURL: 'ghe' is not an absolute http(s) URL")]
    [InlineData("webhook: {port: \"1\", endpoint: /p, url: \"events.example.com\"}", "spec.github.ci.webhook.url: 'events.example.com' is not an absolute http(s) URL; GitHub delivers to it")]
    [InlineData("W\nwebhookSecret: {name: s}", "spec.github.ci.webhookSecret.key: missing: the key within the Secret")]
    [InlineData("W\ngithubApp: {installationID: 2, privateKey: {name: app, key: pem}}", "spec.github.ci.githubApp.appID: missing: the GitHub App's id")]
    [InlineData("W\ngithubApp: {appID: 1, privateKey: {name: app, key: pem}}", "spec.github.ci.githubApp.installationID: missing: the id of the App's installation")]
    [InlineData("W\ngithubApp: {appID: 1, installationID: 2}", "spec.github.ci.githubApp.privateKey: missing: the Secret key holding the App's private key (PEM)")]
    [InlineData("W\ngithubApp: {appID: 1, installationID: 2, privateKey: {name: app, key: pem}}",
        "spec.github.ci.repositories: githubApp is set to register hooks, but there is nowhere to register them: give repositories or organizations")]
    [InlineData("W\nfilter: {expression: 'body.a =='}", "spec.github.ci.filter.expression: not a valid expression")]
    public void Bad_fields_are_refused_with_their_path(string fields, string expected)
    {
        var errors = Errors(fields.Replace("W\n", Webhook + "\n", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith(expected, StringComparison.Ordinal), string.Join("\n", errors));
    }
}
