using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>The credentials the container executor passes to an image pull, from imagePullSecrets' docker configs.</summary>
public sealed class RegistryAuthsTests
{
    private const string Config = """
        {"auths": {
          "https://index.docker.io/v1/": {"username": "hub-user", "password": "hub-pass"},
          "registry.example.com:5000": {"auth": "ZXg6c2VjcmV0OndpdGg6Y29sb25z"},
          "ghcr.io": {"identitytoken": "tok"}
        }}
        """;

    [Theory]
    [InlineData("alpine:3.20", "docker.io")]
    [InlineData("argoproj/argosay:v2", "docker.io")]
    [InlineData("docker.io/library/alpine", "docker.io")]
    [InlineData("registry.example.com:5000/team/app:1", "registry.example.com:5000")]
    [InlineData("localhost/app", "localhost")]
    [InlineData("ghcr.io/org/tool@sha256:abc", "ghcr.io")]
    public void The_registry_of_an_image_is_its_first_component_when_that_is_a_host(string image, string registry) =>
        RegistryAuths.RegistryOf(image).ShouldBe(registry);

    [Fact]
    public void Docker_hub_images_get_the_hub_entry_whatever_its_spelling()
    {
        var auth = RegistryAuths.For("argoproj/argosay:v2", [Config]).ShouldNotBeNull();
        (auth.Username, auth.Password, auth.ServerAddress).ShouldBe(("hub-user", "hub-pass", "https://index.docker.io/v1/"));
    }

    [Fact]
    public void An_auth_field_is_base64_of_user_and_password_split_at_the_first_colon()
    {
        var auth = RegistryAuths.For("registry.example.com:5000/team/app:1", [Config]).ShouldNotBeNull();
        (auth.Username, auth.Password).ShouldBe(("ex", "secret:with:colons"));
    }

    [Fact]
    public void The_first_secret_naming_the_registry_wins_and_an_unnamed_registry_pulls_anonymously()
    {
        var older = """{"ghcr.io": {"username": "first", "password": "p"}}"""; // .dockercfg: no "auths" wrapper
        RegistryAuths.For("ghcr.io/org/tool:1", [older, Config])!.Username.ShouldBe("first");
        RegistryAuths.For("ghcr.io/org/tool:1", [Config])!.IdentityToken.ShouldBe("tok");
        RegistryAuths.For("quay.io/org/tool:1", [Config]).ShouldBeNull();
    }

    [Fact]
    public void A_secret_that_is_not_a_docker_config_is_a_clear_error()
    {
        Should.Throw<FormatException>(() => RegistryAuths.For("alpine", ["not json"])).Message.ShouldContain("imagePullSecrets: not a docker config");
        Should.Throw<FormatException>(() => RegistryAuths.For("alpine", ["""{"auths": {"docker.io": {"auth": "bm9jb2xvbg=="}}}"""]))
            .Message.ShouldContain("is not base64 of user:password");
    }
}
