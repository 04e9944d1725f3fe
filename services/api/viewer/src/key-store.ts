/**
 * The API key, kept for this tab only (sessionStorage): gone when the tab closes, never written to
 * disk by the page, never put in a URL.
 */
const STORAGE_KEY = 'activity-logger.viewer.api-key';

export const keyStore = {
  get(): string | undefined {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  },
  set(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  clear(): void {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};
