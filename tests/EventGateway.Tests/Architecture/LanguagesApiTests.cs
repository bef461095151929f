using System.Reflection;
using System.Runtime.CompilerServices;
using Shouldly;

namespace EventGateway.Tests.Architecture;

/// <summary>
/// The languages are used through their public API only: their internals (lexers, value models, error types)
/// are theirs to change, so no other project may see them; the tests may.
/// </summary>
public sealed class LanguagesApiTests
{
    [Fact]
    public void Languages_show_their_internals_to_the_tests_only() =>
        Assembly.Load("EventGateway.Languages").GetCustomAttributes<InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName).ShouldBe(["EventGateway.Tests"]);
}
