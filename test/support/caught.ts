/** The rejection of `work` (sync throw or rejected promise); fails the test if it succeeds. */
export async function caught(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
