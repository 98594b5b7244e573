//! One composition problem: [`CompositionError`] and its rule, [`CompositionErrorCode`].
//!
//! # Layout
//! - [`CompositionErrorCode`]: every rule composition can report, named after
//!   the rule in Apollo's composition; [`CompositionErrorCode::as_str`] gives
//!   the stable SCREAMING_SNAKE code clients and logs see.
//! - [`CompositionError`]: the code, the subgraph at fault, the schema
//!   coordinate and a message for people.

/// Declares [`CompositionErrorCode`] with one variant per rule and the code
/// each one prints as, so the two can never drift apart.
macro_rules! composition_error_codes {
    ($($variant:ident => $code:literal,)+) => {
        /// The rule a composition problem breaks (Apollo's code for the rule).
        ///
        /// An enum rather than a string so that a typo cannot invent a code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CompositionErrorCode {
            $(
                #[doc = concat!("`", $code, "`")]
                $variant,
            )+
        }

        impl CompositionErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [CompositionErrorCode] = &[$(Self::$variant),+];

            /// The code as clients and logs see it, e.g. `FIELD_TYPE_MISMATCH`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }
        }
    };
}

composition_error_codes! {
    InvalidGraphql => "INVALID_GRAPHQL",
    UnknownFederationLinkVersion => "UNKNOWN_FEDERATION_LINK_VERSION",
    InvalidLinkDirectiveUsage => "INVALID_LINK_DIRECTIVE_USAGE",
    InvalidSubgraphName => "INVALID_SUBGRAPH_NAME",
    UnsupportedFeature => "UNSUPPORTED_FEATURE",
    AuthRequirementsAppliedOnInterface => "AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE",
    MissingTransitiveAuthRequirements => "MISSING_TRANSITIVE_AUTH_REQUIREMENTS",
    KeyInvalidFields => "KEY_INVALID_FIELDS",
    KeyFieldsHasArgs => "KEY_FIELDS_HAS_ARGS",
    KeyFieldsSelectInvalidType => "KEY_FIELDS_SELECT_INVALID_TYPE",
    RequiresInvalidFields => "REQUIRES_INVALID_FIELDS",
    RequiresFieldsMissingExternal => "REQUIRES_FIELDS_MISSING_EXTERNAL",
    ProvidesInvalidFields => "PROVIDES_INVALID_FIELDS",
    ProvidesFieldsMissingExternal => "PROVIDES_FIELDS_MISSING_EXTERNAL",
    ProvidesOnNonObjectField => "PROVIDES_ON_NON_OBJECT_FIELD",
    ExternalUnused => "EXTERNAL_UNUSED",
    ExternalMissingOnBase => "EXTERNAL_MISSING_ON_BASE",
    OverrideFromSelfError => "OVERRIDE_FROM_SELF_ERROR",
    OverrideCollisionWithAnotherDirective => "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
    OverrideSourceHasOverride => "OVERRIDE_SOURCE_HAS_OVERRIDE",
    ContextNameInvalid => "CONTEXT_NAME_INVALID",
    NoContextInSelection => "NO_CONTEXT_IN_SELECTION",
    ContextNotSet => "CONTEXT_NOT_SET",
    ContextInvalidSelection => "CONTEXT_INVALID_SELECTION",
    ContextNoResolvableKey => "CONTEXT_NO_RESOLVABLE_KEY",
    TypeKindMismatch => "TYPE_KIND_MISMATCH",
    FieldTypeMismatch => "FIELD_TYPE_MISMATCH",
    InvalidFieldSharing => "INVALID_FIELD_SHARING",
    FieldArgumentTypeMismatch => "FIELD_ARGUMENT_TYPE_MISMATCH",
    FieldArgumentDefaultMismatch => "FIELD_ARGUMENT_DEFAULT_MISMATCH",
    RequiredArgumentMissingInSomeSubgraph => "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
    InputFieldDefaultMismatch => "INPUT_FIELD_DEFAULT_MISMATCH",
    RequiredInputFieldMissingInSomeSubgraph => "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
    ContextualArgumentNotContextualInAllSubgraphs => "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
    EmptyMergedInputType => "EMPTY_MERGED_INPUT_TYPE",
    EnumValueMismatch => "ENUM_VALUE_MISMATCH",
    EmptyMergedEnumType => "EMPTY_MERGED_ENUM_TYPE",
    InterfaceFieldNoImplem => "INTERFACE_FIELD_NO_IMPLEM",
    NoQueries => "NO_QUERIES",
    ReferencedInaccessible => "REFERENCED_INACCESSIBLE",
    RequiredInaccessible => "REQUIRED_INACCESSIBLE",
    OnlyInaccessibleChildren => "ONLY_INACCESSIBLE_CHILDREN",
    QueryRootTypeInaccessible => "QUERY_ROOT_TYPE_INACCESSIBLE",
    SatisfiabilityError => "SATISFIABILITY_ERROR",
    CostAppliedToInterfaceField => "COST_APPLIED_TO_INTERFACE_FIELD",
    ListSizeAppliedToNonList => "LIST_SIZE_APPLIED_TO_NON_LIST",
    ListSizeInvalidAssumedSize => "LIST_SIZE_INVALID_ASSUMED_SIZE",
    ListSizeInvalidSlicingArgument => "LIST_SIZE_INVALID_SLICING_ARGUMENT",
    ListSizeInvalidSizedField => "LIST_SIZE_INVALID_SIZED_FIELD",
}

impl std::fmt::Display for CompositionErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for CompositionErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CompositionErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One composition problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{code}]{}{} {message}", .subgraph.as_ref().map(|s| format!(" subgraph \"{s}\"")).unwrap_or_default(), .coordinate.as_ref().map(|c| format!(" at {c}")).unwrap_or_default())]
pub struct CompositionError {
    /// The rule broken, e.g. [`CompositionErrorCode::FieldTypeMismatch`].
    pub code: CompositionErrorCode,
    /// The subgraph at fault, when one is.
    pub subgraph: Option<String>,
    /// The schema coordinate: `Type` or `Type.field`.
    pub coordinate: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

impl CompositionError {
    pub(crate) fn new(
        code: CompositionErrorCode,
        subgraph: Option<&str>,
        coordinate: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            subgraph: subgraph.map(str::to_owned),
            coordinate,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_rule_subgraph_and_coordinate() {
        let error = CompositionError::new(
            CompositionErrorCode::FieldTypeMismatch,
            Some("users"),
            Some("User.id".into()),
            "types differ",
        );
        assert_eq!(
            error.to_string(),
            "[FIELD_TYPE_MISMATCH] subgraph \"users\" at User.id types differ"
        );
    }

    #[test]
    fn every_code_is_screaming_snake_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in CompositionErrorCode::ALL {
            let text = code.as_str();
            assert!(
                text.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{text}"
            );
            assert!(seen.insert(text), "{text} twice");
        }
        assert_eq!(seen.len(), 49);
    }
}
