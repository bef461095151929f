using System.Text.Json;

namespace EventGateway.Languages.Jq;

/// <summary>
/// One output of a <see cref="JqProgram"/>, kept in jq's own value model so that describing it and writing it
/// out read exactly as jq prints them (numbers in jq's notation, not .NET's).
/// </summary>
public sealed class JqOutput
{
    private readonly object? value;

    internal JqOutput(object? value)
    {
        this.value = value;
    }

    public bool IsObject => value is JqObject;

    /// <summary>Its type and (truncated) JSON the way jq's error messages show a value, e.g. <c>array ([1,2])</c>.</summary>
    public string Describe() => JqValues.Describe(value);

    /// <summary>Writes it as JSON; strings are escaped by <paramref name="writer"/>'s encoder.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        JqValues.Write(writer, value);
    }
}
