// The admin token of this browser tab: kept in sessionStorage (gone when the
// tab closes), dropped on any 401 so the app goes back to the token prompt.

const KEY = 'vspread.token';

function stored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

class Session {
  token = $state<string | null>(stored());
  /** Why the last token was dropped, shown on the prompt. */
  notice = $state<string | null>(null);

  login(token: string): void {
    sessionStorage.setItem(KEY, token);
    this.token = token;
    this.notice = null;
  }

  logout(notice: string | null = null): void {
    sessionStorage.removeItem(KEY);
    this.token = null;
    this.notice = notice;
  }
}

export const session = new Session();
