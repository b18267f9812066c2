/** What the rules remember of one actor. */
export interface ActorProfile {
  /** `at` of the actor's first record observed. */
  readonly firstSeenAt: number;
  /** Secret names the actor has named (read, written, ...), least recently named first. */
  readonly names: Map<string, true>;
  /** read-volume's state (see read-volume.rule.ts), null until the actor's first read. */
  volume: ReadVolumeState | null;
}

/** An actor's reads: a sliding count in slots, and the baseline of whole windows. */
export interface ReadVolumeState {
  /** Index (at / slotMs) of the newest slot. */
  slot: number;
  /** Reads per slot, a ring indexed by slot % length. */
  readonly slots: number[];
  /** The earliest `at` counted in each slot (meaningless where the slot's count is 0). */
  readonly slotFirstAt: number[];
  /** Index (at / windowMs) of the window being counted for the baseline, and its reads. */
  window: number;
  windowReads: number;
  /** EWMA of reads per window, over the windows closed so far. */
  baseline: number;
  windowsSeen: number;
}

export interface ActorDirectoryLimits {
  readonly maxKnownActors: number;
  readonly maxNamesPerActor: number;
  readonly maxKnownPairs: number;
}

export type ActorEntry = [
  actor: string,
  firstSeenAt: number,
  names: string[],
  volume: ReadVolumeState | null,
];

/**
 * The actors seen and the names each has named, bounded: past maxNamesPerActor an actor forgets
 * its least recently named name; past maxKnownActors or maxKnownPairs the least recently active
 * actors are forgotten whole (seen again, they are new actors with nothing known).
 */
export class ActorDirectory {
  private readonly profiles = new Map<string, ActorProfile>();
  private pairs = 0;

  constructor(
    private readonly limits: ActorDirectoryLimits,
    entries: readonly ActorEntry[] = [],
  ) {
    for (const [actor, firstSeenAt, names, volume] of entries) {
      this.profiles.set(actor, {
        firstSeenAt,
        names: new Map(names.map((name) => [name, true])),
        volume,
      });
      this.pairs += names.length;
    }
  }

  /** The actor's profile (created at `at` if new), now its most recently active. */
  touch(actor: string, at: number): ActorProfile {
    let profile = this.profiles.get(actor);
    if (profile === undefined) {
      profile = { firstSeenAt: at, names: new Map(), volume: null };
      this.profiles.set(actor, profile);
      this.evictBeyondLimits();
    } else if (this.profiles.size > 1) {
      this.profiles.delete(actor);
      this.profiles.set(actor, profile);
    }
    return profile;
  }

  /** Records that the actor named `name`; true when it never had (as far as remembered). */
  learn(profile: ActorProfile, name: string): boolean {
    const names = profile.names;
    if (names.delete(name)) {
      names.set(name, true);
      return false;
    }
    names.set(name, true);
    this.pairs++;
    if (names.size > this.limits.maxNamesPerActor) {
      names.delete(names.keys().next().value!);
      this.pairs--;
    }
    if (this.pairs > this.limits.maxKnownPairs) this.evictBeyondLimits();
    return true;
  }

  get size(): number {
    return this.profiles.size;
  }

  get knownPairs(): number {
    return this.pairs;
  }

  /** Forgets the least recently active actors, never the most recent (the one being observed). */
  private evictBeyondLimits(): void {
    while (
      this.profiles.size > 1 &&
      (this.profiles.size > this.limits.maxKnownActors || this.pairs > this.limits.maxKnownPairs)
    ) {
      const [oldest, profile] = this.profiles.entries().next().value!;
      this.pairs -= profile.names.size;
      this.profiles.delete(oldest);
    }
  }

  toJSON(): ActorEntry[] {
    return [...this.profiles].map(([actor, profile]) => [
      actor,
      profile.firstSeenAt,
      [...profile.names.keys()],
      profile.volume === null
        ? null
        : {
            ...profile.volume,
            slots: [...profile.volume.slots],
            slotFirstAt: [...profile.volume.slotFirstAt],
          },
    ]);
  }
}
