/** The client side of the registry: the typed HTTP client (installing lives in src/install). */
export {
  type ClientOptions,
  createClient,
  type RegistryClient,
  type SearchResult,
  type SkillDetail,
  type VersionDetail,
} from "./http.ts";
