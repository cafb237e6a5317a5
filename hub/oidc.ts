/**
 * Sign-in through OpenID Connect (any provider: Google, Microsoft, Keycloak, Dex in front of
 * GitHub…): authorization code with PKCE, the verifier kept in PostgreSQL between the redirect and
 * the callback. Only a verified e-mail counts, matched against the classroom's roster and
 * instructors.
 */
import * as client from 'openid-client';
import type { HubStore } from './store.ts';

/** The hub's OIDC client registration. */
export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Only for a provider on plain HTTP (tests, a provider inside the cluster). */
  readonly allowHttp?: boolean;
}

/** Who signed in. */
export interface OidcIdentity {
  readonly classroomId: string;
  readonly subject: string;
  readonly email: string;
  readonly name: string;
}

/** The provider said no, or its answer does not identify a verified e-mail. */
export class OidcSignInError extends Error {}

export class OidcSignIn {
  readonly #config: client.Configuration;
  readonly #redirectUri: string;
  readonly #store: HubStore;

  private constructor(config: client.Configuration, redirectUri: string, store: HubStore) {
    this.#config = config;
    this.#redirectUri = redirectUri;
    this.#store = store;
  }

  /** Reads the provider's discovery document. */
  static async discover(settings: OidcSettings, redirectUri: string, store: HubStore): Promise<OidcSignIn> {
    const options = settings.allowHttp ? { execute: [client.allowInsecureRequests] } : undefined;
    const config = await client.discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, undefined, options);
    return new OidcSignIn(config, redirectUri, store);
  }

  /** The provider's sign-in URL for a classroom. */
  async start(classroomId: string): Promise<URL> {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    await this.#store.putOidcPending(state, classroomId, verifier);
    return client.buildAuthorizationUrl(this.#config, {
      redirect_uri: this.#redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
  }

  /** Completes the callback at `callbackUrl`; throws OidcSignInError with the reason. */
  async finish(callbackUrl: URL): Promise<OidcIdentity> {
    const state = callbackUrl.searchParams.get('state') ?? '';
    const pending = await this.#store.takeOidcPending(state);
    if (!pending) throw new OidcSignInError('This sign-in link is unknown or older than 10 minutes');
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(this.#config, callbackUrl, { pkceCodeVerifier: pending.verifier, expectedState: state });
    } catch (error) {
      throw new OidcSignInError(`The identity provider refused the sign-in: ${(error as Error).message}`);
    }
    const claims = tokens.claims();
    if (!claims) throw new OidcSignInError('The identity provider sent no ID token');
    if (typeof claims.email !== 'string' || claims.email_verified !== true) {
      throw new OidcSignInError('The identity provider did not vouch for an e-mail address (email_verified is not true)');
    }
    const name = typeof claims.name === 'string' && claims.name ? claims.name : claims.email;
    return { classroomId: pending.classroomId, subject: `oidc:${claims.iss}#${claims.sub}`, email: claims.email.toLowerCase(), name };
  }
}
